// The page: sign-in, then four views (chat, generation, images, dashboard) chosen by the URL's fragment.

import { api } from "./api.js";
import { initChat, showChat } from "./chat.js";
import { hideDashboard, initDashboard, showDashboard } from "./dashboard.js";
import { initGenerate, showGenerate } from "./generate.js";
import { initImages, showImages } from "./images.js";

const VIEWS = {
  chat: { show: showChat },
  generate: { show: showGenerate },
  images: { show: showImages },
  dashboard: { show: showDashboard, hide: hideDashboard },
};
let current = null;

function byId(id) {
  return document.getElementById(id);
}

async function signIn(event) {
  event.preventDefault();
  const token = byId("token").value;
  const error = byId("sign-in-error");
  error.textContent = "";
  try {
    await api("/auth/session", { method: "POST", body: { token } });
  } catch (failure) {
    error.textContent = failure.status === 401 ? "That is not the API token." : failure.message;
    return;
  }
  byId("token").value = "";
  showApp();
}

async function signOut() {
  await api("/auth/session", { method: "DELETE" });
  showSignIn();
}

function showSignIn() {
  VIEWS[current]?.hide?.();
  current = null;
  byId("sign-in").hidden = false;
  byId("tabs").hidden = true;
  byId("sign-out").hidden = true;
  for (const name of Object.keys(VIEWS)) byId(`view-${name}`).hidden = true;
  byId("token").focus();
}

function showApp() {
  byId("sign-in").hidden = true;
  byId("tabs").hidden = false;
  byId("sign-out").hidden = false;
  route();
}

function route() {
  if (!byId("sign-in").hidden) return;
  const name = location.hash.slice(1) in VIEWS ? location.hash.slice(1) : "chat";
  if (current && current !== name) VIEWS[current].hide?.();
  current = name;
  for (const view of Object.keys(VIEWS)) byId(`view-${view}`).hidden = view !== name;
  for (const tab of byId("tabs").querySelectorAll("button")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  }
  VIEWS[name].show();
}

async function start() {
  initChat();
  initGenerate();
  initImages();
  initDashboard();
  byId("sign-in-form").addEventListener("submit", signIn);
  byId("sign-out").addEventListener("click", signOut);
  for (const tab of byId("tabs").querySelectorAll("button")) {
    tab.addEventListener("click", () => {
      location.hash = tab.dataset.view;
    });
  }
  window.addEventListener("hashchange", route);
  window.addEventListener("queuebot:signed-out", showSignIn);
  const session = await fetch("/auth/session", { credentials: "same-origin" });
  if (session.ok) showApp();
  else showSignIn();
}

start();
