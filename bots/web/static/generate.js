// The generation view: a form with GPT-2's usual controls, and the generation jobs with their
// status; jobs still running update themselves from their event streams, text included as it is
// decoded.

import { api, isFinal, jobFinished } from "./api.js";
import { el, when } from "./dom.js";

const SHOWN_JOBS = 20;
const watching = new Set();

export function initGenerate() {
  document.getElementById("generate-form").addEventListener("submit", onSubmit);
  document.getElementById("jobs-refresh").addEventListener("click", () => showGenerate());
}

export async function showGenerate() {
  try {
    const page = await api(`/api/jobs?kind=generate&limit=${SHOWN_JOBS}`);
    document.getElementById("jobs").replaceChildren(...page.items.map(jobItem));
    page.items.filter((job) => !isFinal(job)).forEach(watch);
  } catch (error) {
    setError(error.message);
  }
}

async function onSubmit(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const body = { prompt: data.get("prompt") };
  for (const [name, parse] of [
    ["max_new_tokens", parseInt],
    ["temperature", parseFloat],
    ["top_p", parseFloat],
    ["num_return_sequences", parseInt],
    ["seed", parseInt],
  ]) {
    const raw = String(data.get(name) ?? "").trim();
    if (raw !== "") body[name] = parse(raw, 10);
  }
  setError("");
  event.submitter.disabled = true;
  try {
    const job = await api("/api/generate", { method: "POST", body });
    document.getElementById("jobs").prepend(jobItem(job));
    watch(job);
  } catch (error) {
    setError(error.message);
  } finally {
    event.submitter.disabled = false;
  }
}

function watch(job) {
  if (watching.has(job.id)) return;
  watching.add(job.id);
  jobFinished(job.id, replace, showDraft(job.id))
    .catch((error) => setError(error.message))
    .finally(() => watching.delete(job.id));
}

// Shows the text decoded so far under the job; the finished job's item replaces it.
function showDraft(jobId) {
  return (texts) => {
    const item = document.querySelector(`#jobs > li[data-job="${CSS.escape(jobId)}"]`);
    if (!item) return;
    const drafts = item.querySelectorAll(".text.streaming");
    texts.forEach((text, choice) => {
      if (drafts[choice]) {
        drafts[choice].textContent = text;
      } else {
        item.append(el("div", { class: "text streaming", text }));
      }
    });
  };
}

function replace(job) {
  const current = document.querySelector(`#jobs > li[data-job="${CSS.escape(job.id)}"]`);
  if (current) current.replaceWith(jobItem(job));
}

function jobItem(job) {
  const controls = `${job.input.max_new_tokens ?? "?"} tokens · temperature ${job.input.temperature ?? "?"} · top-p ${job.input.top_p ?? "?"}` +
    (job.input.seed === null || job.input.seed === undefined ? "" : ` · seed ${job.input.seed}`);
  const item = el("li", { dataset: { job: job.id, status: job.status } },
    el("div", { class: "row" },
      el("span", { class: "prompt", text: job.input.prompt }),
      el("span", { class: `badge ${job.status}`, text: job.status })),
    el("div", { class: "muted", text: `${when(job.created_at)} · ${controls}` }));
  if (job.status === "done") {
    item.append(...job.result.texts.map((text) => el("div", { class: "text", text })));
    const dropped = job.result.prompt_tokens_dropped ?? 0;
    if (dropped > 0) {
      item.append(el("div", { class: "muted prompt-cut",
        text: `The prompt was longer than the model's context: its first ${dropped} tokens were left out.` }));
    }
  } else if (job.status === "failed") {
    item.append(el("div", { class: "error", text: job.error ?? "failed" }));
  }
  return item;
}

function setError(text) {
  document.getElementById("generate-error").textContent = text;
}
