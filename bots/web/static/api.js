// The page's one way to reach the REST API. The session cookie authenticates each call; the
// X-Queuebot-Client header shows the call comes from this page's scripts (a form on another site
// cannot set it, so a cookie alone never authorises a change).

const CLIENT_HEADER = { "X-Queuebot-Client": "web" };
const FINAL = new Set(["done", "failed"]);

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = body === undefined ? CLIENT_HEADER : { ...CLIENT_HEADER, "Content-Type": "application/json" };
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent("queuebot:signed-out"));
  }
  if (!response.ok) {
    throw new ApiError(response.status, await errorText(response));
  }
  return response.status === 204 ? null : response.json();
}

async function errorText(response) {
  let detail;
  try {
    detail = (await response.json()).detail;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
  if (Array.isArray(detail)) {
    // FastAPI's validation errors: where, and what is wrong there.
    return detail.map((e) => `${(e.loc || []).slice(1).join(".") || "body"}: ${e.msg}`).join("; ");
  }
  const retry = response.headers.get("Retry-After");
  return retry ? `${detail} (try again in ${retry} s)` : String(detail ?? response.status);
}

// Resolves with the job once it is done or failed, from the server's event stream of the job.
// onText, if given, gets each sequence's text so far as a generation or generated reply is decoded
// (`token` events); the finished job's stored result is what a view shows in the end. After a
// dropped connection, EventSource reconnects with Last-Event-ID and the server sends the pieces after
// the last one seen, so the text here carries on where it was.
export function jobFinished(jobId, onChange = () => {}, onText = null) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/events`);
    let texts = [];
    source.addEventListener("job", (event) => {
      const job = JSON.parse(event.data);
      onChange(job);
      if (FINAL.has(job.status)) {
        source.close();
        resolve(job);
      }
    });
    source.addEventListener("token", (event) => {
      const piece = JSON.parse(event.data);
      if (piece.reset) {
        texts = []; // the job runs again: its text starts over
      } else {
        texts[piece.choice] = (texts[piece.choice] ?? "") + piece.text;
      }
      if (onText) onText(texts.map((text) => text ?? ""));
    });
    source.addEventListener("error", () => {
      // EventSource reconnects by itself after a dropped connection; CLOSED means it gave up
      // (the server refused the stream: signed out, or no such job).
      if (source.readyState === EventSource.CLOSED) {
        reject(new ApiError(0, `lost the updates of job ${jobId}; reload to see it`));
      }
    });
  });
}

export function isFinal(job) {
  return FINAL.has(job.status);
}
