// A form that starts jobs of one kind beside the list of those jobs, newest first: the generation
// view and the images view. Jobs still running update themselves from their event streams.

import { api, isFinal, jobFinished } from "./api.js";

const SHOWN_JOBS = 20;

// kind: the jobs listed; path: where the form posts; formId, refreshId, listId, errorId: the view's
// elements; readBody(formData): the request's body; jobItem(job): the job's <li>; onText(item,
// texts), if given: shows the text decoded so far in the job's item.
export function jobListView({ kind, path, formId, refreshId, listId, errorId, readBody, jobItem, onText = null }) {
  const watching = new Set();
  const list = () => document.getElementById(listId);
  const itemOf = (jobId) => document.querySelector(`#${listId} > li[data-job="${CSS.escape(jobId)}"]`);
  const setError = (text) => {
    document.getElementById(errorId).textContent = text;
  };

  function replace(job) {
    const current = itemOf(job.id);
    if (current) current.replaceWith(jobItem(job));
  }

  function showText(jobId) {
    return (texts) => {
      const item = itemOf(jobId);
      if (item) onText(item, texts);
    };
  }

  function watch(job) {
    if (watching.has(job.id)) return;
    watching.add(job.id);
    jobFinished(job.id, replace, onText ? showText(job.id) : null)
      .catch((error) => setError(error.message))
      .finally(() => watching.delete(job.id));
  }

  async function show() {
    try {
      const page = await api(`/api/jobs?kind=${kind}&limit=${SHOWN_JOBS}`);
      list().replaceChildren(...page.items.map(jobItem));
      page.items.filter((job) => !isFinal(job)).forEach(watch);
    } catch (error) {
      setError(error.message);
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    const body = readBody(new FormData(event.target));
    setError("");
    event.submitter.disabled = true;
    try {
      const job = await api(path, { method: "POST", body });
      list().prepend(jobItem(job));
      watch(job);
    } catch (error) {
      setError(error.message);
    } finally {
      event.submitter.disabled = false;
    }
  }

  function init() {
    document.getElementById(formId).addEventListener("submit", onSubmit);
    document.getElementById(refreshId).addEventListener("click", () => show());
  }

  return { init, show };
}
