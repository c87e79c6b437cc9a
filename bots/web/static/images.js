// The images view: ask the GAN for handwritten digits (a digit or a prompt naming one, how many, a
// seed), and a gallery of the image jobs, each with its PNGs once it is done.

import { el, when } from "./dom.js";
import { jobListView } from "./job_list.js";

const view = jobListView({
  kind: "image",
  path: "/api/images",
  formId: "images-form",
  refreshId: "images-refresh",
  listId: "gallery",
  errorId: "images-error",
  readBody,
  jobItem,
});
export const initImages = view.init;
export const showImages = view.show;

function readBody(data) {
  const body = {};
  const what = String(data.get("what") ?? "").trim();
  // A lone numeral is the digit; anything else is a prompt the server reads a digit from.
  if (/^\d+$/.test(what)) body.digit = parseInt(what, 10);
  else if (what !== "") body.prompt = what;
  for (const name of ["n", "seed"]) {
    const raw = String(data.get(name) ?? "").trim();
    if (raw !== "") body[name] = parseInt(raw, 10);
  }
  return body;
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
