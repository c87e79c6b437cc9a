// The images view: ask the GAN for handwritten digits (a digit or a prompt naming one, how many, a
// seed), and a gallery of the image jobs, each with its PNGs once it is done.

import { api, isFinal, jobFinished } from "./api.js";
import { el, when } from "./dom.js";

const SHOWN_JOBS = 20;
const watching = new Set();

export function initImages() {
  document.getElementById("images-form").addEventListener("submit", onSubmit);
  document.getElementById("images-refresh").addEventListener("click", () => showImages());
}

export async function showImages() {
  try {
    const page = await api(`/api/jobs?kind=image&limit=${SHOWN_JOBS}`);
    document.getElementById("gallery").replaceChildren(...page.items.map(jobItem));
    page.items.filter((job) => !isFinal(job)).forEach(watch);
  } catch (error) {
    setError(error.message);
  }
}

async function onSubmit(event) {
  event.preventDefault();
  const data = new FormData(event.target);
  const body = {};
  const what = String(data.get("what") ?? "").trim();
  // A lone numeral is the digit; anything else is a prompt the server reads a digit from.
  if (/^\d+$/.test(what)) body.digit = parseInt(what, 10);
  else if (what !== "") body.prompt = what;
  for (const name of ["n", "seed"]) {
    const raw = String(data.get(name) ?? "").trim();
    if (raw !== "") body[name] = parseInt(raw, 10);
  }
  setError("");
  event.submitter.disabled = true;
  try {
    const job = await api("/api/images", { method: "POST", body });
    document.getElementById("gallery").prepend(jobItem(job));
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
  jobFinished(job.id, replace)
    .catch((error) => setError(error.message))
    .finally(() => watching.delete(job.id));
}

function replace(job) {
  const current = document.querySelector(`#gallery > li[data-job="${CSS.escape(job.id)}"]`);
  if (current) current.replaceWith(jobItem(job));
}

function jobItem(job) {
  const asked = job.input.digit ?? "?";
  const seed = job.result?.seed ?? job.input.seed;
  const details = `${job.input.n ?? "?"} images` + (seed === null || seed === undefined ? "" : ` · seed ${seed}`);
  const item = el("li", { dataset: { job: job.id, status: job.status } },
    el("div", { class: "row" },
      el("span", { class: "prompt", text: `Digit ${asked}` }),
      job.input.prompt ? el("span", { class: "muted", text: `“${job.input.prompt}”` }) : null,
      el("span", { class: `badge ${job.status}`, text: job.status })),
    el("div", { class: "muted", text: `${when(job.created_at)} · ${details}` }));
  if (job.status === "done") {
    const width = job.result.width;
    item.append(el("div", { class: "thumbs" },
      job.result.images.map((src, index) => el("img", {
        src, width, height: width, loading: "lazy",
        alt: `Handwritten ${job.result.digit}, drawing ${index + 1} of ${job.result.count}`,
      }))));
  } else if (job.status === "failed") {
    item.append(el("div", { class: "error", text: job.error ?? "failed" }));
  }
  return item;
}

function setError(text) {
  document.getElementById("images-error").textContent = text;
}
