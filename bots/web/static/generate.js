// The generation view: a form with GPT-2's usual controls, and the generation jobs with their
// status; jobs still running update themselves from their event streams, text included as it is
// decoded.

import { el, when } from "./dom.js";
import { jobListView } from "./job_list.js";

const view = jobListView({
  kind: "generate",
  path: "/api/generate",
  formId: "generate-form",
  refreshId: "jobs-refresh",
  listId: "jobs",
  errorId: "generate-error",
  readBody,
  jobItem,
  onText: showDraft,
});
export const initGenerate = view.init;
export const showGenerate = view.show;

function readBody(data) {
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
  return body;
}

// Shows the text decoded so far under the job; the finished job's item replaces it.
function showDraft(item, texts) {
  const drafts = item.querySelectorAll(".text.streaming");
  texts.forEach((text, choice) => {
    if (drafts[choice]) {
      drafts[choice].textContent = text;
    } else {
      item.append(el("div", { class: "text streaming", text }));
    }
  });
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
