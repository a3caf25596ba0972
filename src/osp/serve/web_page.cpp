#include "osp/serve/web_page.h"

namespace osp::serve {

const char* const kWebPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OSP-Next</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
  h1 { font-size: 1.4em; }
  form { display: grid; grid-template-columns: 10em 1fr; gap: .4em 1em; align-items: center; }
  textarea, input, select { font: inherit; padding: .2em; }
  .err { color: #b00; grid-column: 2; font-size: .9em; }
  .err:empty { display: none; }
  #progress { width: 100%; height: 1.2em; }
  #preview { image-rendering: pixelated; height: 96px; border: 1px solid #ccc; }
  #player { max-width: 100%; width: 384px; background: #000; }
  table { border-collapse: collapse; width: 100%; margin-top: 1em; }
  td, th { border-bottom: 1px solid #ddd; padding: .3em; text-align: left; font-size: .9em; }
</style>
</head>
<body>
<h1>OSP-Next text-to-video <small id="model"></small></h1>
<form id="form">
  <label for="prompt">prompt</label><textarea id="prompt" name="prompt" rows="2" required></textarea>
  <span class="err" id="err-prompt"></span>
  <label for="negative_prompt">negative prompt</label><input id="negative_prompt" name="negative_prompt">
  <span class="err" id="err-negative_prompt"></span>
  <label for="width">width</label><input id="width" name="width" type="number" step="any"><span class="err" id="err-width"></span>
  <label for="height">height</label><input id="height" name="height" type="number" step="any"><span class="err" id="err-height"></span>
  <label for="frames">frames</label><input id="frames" name="frames" type="number" step="any"><span class="err" id="err-frames"></span>
  <label for="steps">steps</label><input id="steps" name="steps" type="number"><span class="err" id="err-steps"></span>
  <label for="guidance">guidance</label><input id="guidance" name="guidance" type="number" step="any"><span class="err" id="err-guidance"></span>
  <label for="shift">shift</label><input id="shift" name="shift" type="number" step="any"><span class="err" id="err-shift"></span>
  <label for="seed">seed</label><input id="seed" name="seed" type="number" value="1024"><span class="err" id="err-seed"></span>
  <label for="sampler">sampler</label><select id="sampler" name="sampler"><option>unipc</option><option>euler</option><option>dpm++</option></select>
  <span class="err" id="err-sampler"></span>
  <label for="format">format</label><select id="format" name="format"><option>mp4</option><option>webm</option><option>gif</option></select>
  <span class="err" id="err-format"></span>
  <label for="key">API key</label><input id="key" type="password" placeholder="only if the server asks for one">
  <span></span><button type="submit">Generate</button>
  <span class="err" id="err-"></span>
</form>
<p><progress id="progress" max="1" value="0"></progress><br><span id="status">idle</span></p>
<p><img id="preview" alt="latent preview" hidden> <video id="player" controls loop hidden></video></p>
<table><thead><tr><th>job</th><th>prompt</th><th>status</th><th></th></tr></thead><tbody id="history"></tbody></table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const numbers = ["width", "height", "frames", "steps", "guidance", "shift", "seed"];
const texts = ["prompt", "negative_prompt", "sampler", "format"];
$("key").value = localStorage.getItem("osp-key") || "";

function headers() {
  const h = { "Content-Type": "application/json" };
  if ($("key").value) h["Authorization"] = "Bearer " + $("key").value;
  return h;
}
async function api(path, options = {}) {
  return fetch(path, Object.assign({ headers: headers() }, options));
}
function clearErrors() { document.querySelectorAll(".err").forEach((e) => (e.textContent = "")); }
function showError(field, message) { ($("err-" + (field || "")) || $("err-")).textContent = message; }

async function loadDefaults() {
  const res = await api("/v1/models");
  if (!res.ok) return;
  const model = (await res.json()).data[0];
  $("model").textContent = model.id;
  for (const [k, v] of Object.entries(model.defaults)) if ($(k) && !$(k).value) $(k).value = v;
}

async function refreshHistory() {
  const res = await api("/v1/videos");
  if (!res.ok) return;
  const rows = (await res.json()).data.map((j) => {
    const tr = document.createElement("tr");
    for (const text of [j.id, j.request.prompt, j.status + (j.error ? ": " + j.error : "")]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.textContent = j.status === "queued" || j.status === "running" ? "cancel" : "delete";
    button.onclick = async () => { await api("/v1/videos/" + j.id, { method: "DELETE" }); refreshHistory(); };
    td.appendChild(button);
    tr.appendChild(td);
    return tr;
  });
  $("history").replaceChildren(...rows);
}

async function showVideo(job) {
  const res = await api("/v1/videos/" + job.id + "/content");
  const player = $("player");
  player.onloadeddata = () => { player.dataset.loaded = "true"; $("status").textContent = "done: " + job.id; };
  player.onerror = () => { $("status").textContent = "done, but this browser cannot play " + job.request.format; };
  player.src = URL.createObjectURL(await res.blob());
  player.hidden = false;
}

async function follow(id) {
  for (;;) {
    const res = await api("/v1/videos/" + id);
    if (!res.ok) { $("status").textContent = "lost job " + id; return; }
    const job = await res.json();
    const total = job.total || 1;
    $("progress").value = job.stage === "decode" ? 1 : job.step / total;
    $("status").textContent = job.status + (job.stage ? " — " + job.stage + " " + job.step + "/" + job.total : "") +
        (job.eta_s !== undefined ? ", about " + job.eta_s.toFixed(1) + " s left" : "") +
        (job.queue_position ? ", position " + job.queue_position + " in the queue" : "");
    if (job.status === "running" && job.stage === "sampling") {
      const preview = await api("/v1/videos/" + id + "/preview");
      if (preview.ok) { $("preview").src = URL.createObjectURL(await preview.blob()); $("preview").hidden = false; }
    }
    if (job.status === "done") { $("progress").value = 1; await showVideo(job); refreshHistory(); return; }
    if (job.status !== "queued" && job.status !== "running") {
      $("status").textContent = job.status + (job.error ? ": " + job.error : "");
      refreshHistory();
      return;
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

$("form").onsubmit = async (event) => {
  event.preventDefault();
  clearErrors();
  localStorage.setItem("osp-key", $("key").value);
  const body = {};
  for (const k of texts) if ($(k).value !== "") body[k] = $(k).value;
  for (const k of numbers) if ($(k).value !== "") body[k] = Number($(k).value);
  const res = await api("/v1/videos", { method: "POST", body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) { showError(answer.error && answer.error.field, (answer.error && answer.error.message) || res.statusText); return; }
  $("player").hidden = true;
  delete $("player").dataset.loaded;
  refreshHistory();
  follow(answer.id);
};

(async () => {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of params) if ($(k) && k !== "key") $(k).value = v;
  await loadDefaults();
  await refreshHistory();
  if (params.get("autosubmit") === "1") $("form").requestSubmit();
})();
</script>
</body>
</html>
)HTML";

}  // namespace osp::serve
