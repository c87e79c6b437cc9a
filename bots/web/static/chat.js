// The chat view: one conversation with the customer-service bot. A message becomes a reply job;
// a generated reply shows as it is written, and the reply stored when the job's event stream says
// it is done takes its place (the vetted text, or the hand-off message when the draft is refused),
// with how it was made, buttons to rate it and links to related articles.

import { api, jobFinished } from "./api.js";
import { el } from "./dom.js";
import { suggestedArticles } from "./suggestions.js";

const STORED_CONVERSATION = "queuebot.conversation";
const PATH_LABELS = {
  template: "approved answer",
  generation: "generated",
  handoff: "handed over to a person",
};

let conversationId = null;

export function initChat() {
  document.getElementById("chat-form").addEventListener("submit", onSend);
  document.getElementById("new-conversation").addEventListener("click", () => startOver());
}

export async function showChat() {
  const stored = Number(sessionStorage.getItem(STORED_CONVERSATION));
  if (stored && stored !== conversationId) {
    await loadConversation(stored);
  }
  document.getElementById("chat-input").focus();
}

function startOver() {
  conversationId = null;
  sessionStorage.removeItem(STORED_CONVERSATION);
  document.getElementById("messages").replaceChildren();
  document.getElementById("conversation-label").textContent = "";
  setError("");
}

async function loadConversation(id) {
  let conversation;
  try {
    conversation = await api(`/api/conversations/${id}`);
  } catch (error) {
    if (error.status === 404) return startOver();
    return setError(error.message);
  }
  setConversation(conversation.id);
  const list = document.getElementById("messages");
  list.replaceChildren();
  const answered = new Set(conversation.messages.filter((m) => m.role === "bot").map((m) => m.job_id));
  for (const message of conversation.messages) {
    if (message.role === "user") {
      list.append(userMessage(message.text));
      if (message.job_id && !answered.has(message.job_id)) awaitReply(message.job_id);
    } else {
      list.append(botMessage(message.text, message.job_id, null));
    }
  }
  if (conversation.status === "handoff") list.append(handoffNote("this conversation waits for a person"));
  await showLatestSuggestions(id);
  list.scrollTop = list.scrollHeight;
}

async function showLatestSuggestions(id) {
  // A reloaded conversation shows the suggestions of its latest answer again (those are stored).
  try {
    const latest = await api(`/api/recommendations?conversation_id=${id}`);
    const answer = latest.job_id && document.querySelector(`#messages li.message.bot[data-job="${CSS.escape(latest.job_id)}"]`);
    const links = answer && suggestedArticles(latest, setError);
    if (links) answer.append(links);
  } catch (error) {
    setError(error.message);
  }
}

async function onSend(event) {
  event.preventDefault();
  const input = document.getElementById("chat-input");
  const text = input.value.trim();
  if (!text) return;
  const button = event.submitter;
  button.disabled = true;
  setError("");
  try {
    const accepted = await api("/api/chat", {
      method: "POST",
      body: conversationId ? { message: text, conversation_id: conversationId } : { message: text },
    });
    setConversation(accepted.conversation_id);
    input.value = "";
    document.getElementById("messages").append(userMessage(text));
    awaitReply(accepted.job.id);
  } catch (error) {
    setError(error.message); // the message stays in the box to send again
  } finally {
    button.disabled = false;
    input.focus();
  }
}

async function awaitReply(jobId) {
  const list = document.getElementById("messages");
  const pending = el("li", { class: "message bot pending", dataset: { job: jobId } },
    el("div", { class: "bubble", text: "queuebot is answering…" }));
  list.append(pending);
  list.scrollTop = list.scrollHeight;
  const bubble = pending.querySelector(".bubble");
  const showDraft = ([draft]) => {
    if (!draft) return;
    pending.classList.add("streaming");
    bubble.textContent = draft;
    list.scrollTop = list.scrollHeight;
  };
  let job;
  try {
    job = await jobFinished(jobId, () => {}, showDraft);
  } catch (error) {
    pending.replaceWith(failedMessage(jobId, error.message));
    return;
  }
  if (job.status === "failed") {
    pending.replaceWith(failedMessage(jobId, `no reply: ${job.error ?? "the job failed"}`));
    return;
  }
  pending.replaceWith(botMessage(job.result.reply, jobId, job.result));
  if (job.result.path === "handoff") {
    list.append(handoffNote(job.result.handoff_reason ?? job.result.reason));
  }
  list.scrollTop = list.scrollHeight;
}

function userMessage(text) {
  return el("li", { class: "message user" }, el("div", { class: "bubble", text }));
}

function botMessage(text, jobId, result) {
  const meta = el("div", { class: "meta" });
  if (result?.path) {
    meta.append(el("span", { class: `badge ${result.path}`, text: PATH_LABELS[result.path] ?? result.path }));
  }
  if (jobId) meta.append(...feedbackButtons(jobId));
  return el("li", { class: "message bot", dataset: { job: jobId ?? "" } }, el("div", { class: "bubble", text }), meta,
    suggestedArticles(result?.recommendations, setError));
}

function failedMessage(jobId, text) {
  return el("li", { class: "message bot failed", dataset: { job: jobId } }, el("div", { class: "bubble", text }));
}

function handoffNote(reason) {
  return el("li", { class: "handoff-note", role: "status" },
    `Handed over to a person (${reason}). Someone from the team will answer here.`);
}

function feedbackButtons(jobId) {
  const buttons = [
    ["up", "Helpful"],
    ["down", "Not helpful"],
  ].map(([rating, label]) =>
    el("button", { type: "button", class: "quiet", "aria-pressed": "false", dataset: { rating }, text: label }));
  for (const button of buttons) {
    button.addEventListener("click", async () => {
      try {
        await api(`/api/jobs/${encodeURIComponent(jobId)}/feedback`, {
          method: "POST",
          body: { rating: button.dataset.rating },
        });
        for (const other of buttons) other.setAttribute("aria-pressed", String(other === button));
      } catch (error) {
        setError(error.message);
      }
    });
  }
  return buttons;
}

function setConversation(id) {
  conversationId = id;
  sessionStorage.setItem(STORED_CONVERSATION, String(id));
  document.getElementById("conversation-label").textContent = `conversation #${id}`;
}

function setError(text) {
  document.getElementById("chat-error").textContent = text;
}
