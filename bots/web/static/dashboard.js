// The dashboard: a topic's sentiment trend, and the alerts with their evidence and chart, to
// acknowledge or resolve (the same moves as the buttons on the alert in Slack).

import { api } from "./api.js";
import { el, when } from "./dom.js";
import { trendChart } from "./trend_chart.js";

const REFRESH_MS = 15000;
const SHOWN_ALERTS = 50;
let timer = null;

export function initDashboard() {
  document.getElementById("topic").addEventListener("change", () => showTrend());
  document.getElementById("bucket").addEventListener("change", () => showTrend());
  document.getElementById("alert-status").addEventListener("change", () => showAlerts());
  document.getElementById("dashboard-refresh").addEventListener("click", () => showDashboard());
}

export async function showDashboard() {
  clearTimeout(timer);
  const error = document.getElementById("dashboard-error");
  try {
    await Promise.all([loadTopics().then(showTrend), showAlerts(), showModels()]);
    error.textContent = "";
  } catch (failure) {
    error.textContent = `Could not refresh: ${failure.message}`; // the next refresh tries again
  }
  // Only while the dashboard is the view shown: app.js calls hideDashboard when it is left.
  timer = setTimeout(showDashboard, REFRESH_MS);
}

export function hideDashboard() {
  clearTimeout(timer);
}

async function showModels() {
  const models = await api("/api/models");
  const rows = models.map((m) =>
    el("tr", { dataset: { model: m.name, state: m.state } },
      el("td", { text: m.name }),
      el("td", { text: m.state }),
      el("td", { text: m.profile }),
      el("td", { text: m.version || "" }),
      el("td", { text: when(m.since) }),
      el("td", { text: m.detail })));
  const body = document.querySelector("#models tbody");
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6", class: "empty", text: "No model has been reported yet." }))]));
}

async function loadTopics() {
  const select = document.getElementById("topic");
  const chosen = select.value;
  const topics = await api("/api/topics");
  topics.sort((a, b) => b.last_at.localeCompare(a.last_at));
  // A topic the topic model gave most of its items says so: its trend is as good as the model.
  const label = (t) => `${t.topic} (${t.volume}${t.predicted * 2 > t.volume ? ", predicted" : ""})`;
  select.replaceChildren(...topics.map((t) => el("option", { value: t.topic, text: label(t), dataset: { predicted: String(t.predicted) } })));
  if (topics.some((t) => t.topic === chosen)) select.value = chosen;
}

async function showTrend() {
  const topic = document.getElementById("topic").value;
  const holder = document.getElementById("trend");
  const summary = document.getElementById("trend-summary");
  if (!topic) {
    holder.replaceChildren(el("p", { class: "empty", text: "No topics yet: send items to POST /api/sentiment or replay a stream." }));
    summary.textContent = "";
    return;
  }
  const bucket = document.getElementById("bucket").value;
  const query = new URLSearchParams({ topic, bucket });
  const [trend, alerts] = await Promise.all([
    api(`/api/trends?${query}`),
    api(`/api/alerts?${new URLSearchParams({ topic, limit: "200" })}`),
  ]);
  const alertStarts = new Set(alerts.items.map((a) => Date.parse(a.window_start)));
  holder.replaceChildren(trendChart(trend.points, alertStarts));
  holder.setAttribute("aria-label", `Trend of ${topic} per ${bucket}`);
  const items = trend.points.reduce((sum, p) => sum + p.volume, 0);
  const negatives = trend.points.reduce((sum, p) => sum + p.negatives, 0);
  summary.textContent = `${topic}: ${items} items in ${trend.points.length} ${bucket}s, ${negatives} negative` +
    ` (${items ? ((negatives / items) * 100).toFixed(1) : 0}%); ${alerts.total} alert(s).`;
}

async function showAlerts() {
  const wanted = document.getElementById("alert-status").value;
  const statuses = wanted === "active" ? ["open", "acknowledged"] : [wanted];
  const pages = await Promise.all(statuses.map((s) => api(`/api/alerts?status=${s}&limit=${SHOWN_ALERTS}`)));
  const alerts = pages.flatMap((p) => p.items).sort((a, b) => b.created_at.localeCompare(a.created_at));
  const list = document.getElementById("alerts");
  list.replaceChildren(...(alerts.length ? alerts.map(alertItem) : [el("li", { class: "muted", text: "No alerts." })]));
}

// An item on the alert's topic by the topic model's word says so, and how sure the model was.
function evidenceItem(e) {
  const predicted = e.topic_source === "predicted"
    ? el("span", { class: "muted", text: ` (topic predicted${e.topic_confidence == null ? "" : `, ${e.topic_confidence.toFixed(2)}`})` })
    : null;
  return el("li", { dataset: { topicSource: e.topic_source || "given" } }, e.text, ...(predicted ? [predicted] : []));
}

function alertItem(alert) {
  const share = alert.metric === "negative_share";
  const figure = (v) => (share ? `${(v * 100).toFixed(0)}%` : v.toFixed(1));
  const item = el("li", { dataset: { alert: String(alert.id), topic: alert.topic } },
    el("div", { class: "row" },
      el("strong", { text: alert.topic }),
      el("span", { class: `badge ${alert.status}`, text: alert.status }),
      el("span", { text: `${alert.metric.replace("_", " ")} ${figure(alert.value)} against ${figure(alert.baseline)}` }),
      el("span", { class: "muted", text: `${when(alert.window_start)} · alert #${alert.id}` })),
    el("ul", { class: "evidence" }, alert.evidence.map(evidenceItem)));
  if (alert.chart_url) {
    item.append(el("img", { src: alert.chart_url, alt: `Trend chart of alert #${alert.id}`, loading: "lazy", width: 800, height: 450 }));
  }
  const by = alert.resolved_by ?? alert.acknowledged_by;
  if (by) item.append(el("div", { class: "muted", text: `${alert.status} by ${by}` }));
  const actions = el("div", { class: "actions" });
  if (alert.status === "open") actions.append(moveButton(alert, "acknowledge", "Acknowledge"));
  if (alert.status !== "resolved") actions.append(moveButton(alert, "resolve", "Resolve"));
  item.append(actions);
  return item;
}

function moveButton(alert, move, label) {
  return el("button", {
    type: "button",
    class: "quiet",
    text: label,
    onclick: async (event) => {
      event.target.disabled = true;
      try {
        await api(`/api/alerts/${alert.id}/${move}`, { method: "POST", body: { by: "web page" } });
      } catch (failure) {
        document.getElementById("dashboard-error").textContent = failure.message;
      }
      await showDashboard();
    },
  });
}
