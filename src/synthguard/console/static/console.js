// Console and label desk helpers. No framework, no CDN (htmx.min.js is vendored beside this file).
(function () {
  const $ = (id) => document.getElementById(id);
  // The page language chosen by the server (<html lang>): one language per page.
  const zh = (document.documentElement.lang || "zh").startsWith("zh");
  const t = (zhText, enText) => (zh ? zhText : enText);

  // SLA timers: any element with data-due="<ISO time>" counts down, and turns red once overdue.
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-due]").forEach((el) => {
      const left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      const abs = Math.abs(left);
      const h = Math.floor(abs / 3600), m = Math.floor((abs % 3600) / 60);
      el.textContent = (left < 0 ? t("超时 ", "overdue ") : t("剩余 ", "left ")) + h + "h " + m + "m";
      el.classList.toggle("overdue", left < 0);
    });
  }
  if (!window.__sgTimer) { window.__sgTimer = setInterval(tick, 1000); }
  tick();

  // Label desk: calls the same /v1/labels API as the CLI.
  if (!$("inspect")) return;
  const show = (text, cls) => { $("result").textContent = text; $("result").className = cls || ""; };
  function chosen() {
    const f = $("file").files[0];
    if (!f) { $("status").textContent = t("请选择文件", "choose a file"); return null; }
    const body = new FormData(); body.append("file", f); return [f, body];
  }
  $("inspect").addEventListener("click", async () => {
    const c = chosen(); if (!c) return;
    $("status").textContent = t("检查中…", "inspecting…");
    const r = await fetch("/v1/labels/inspect", { method: "POST", body: c[1] });
    const data = await r.json();
    $("status").textContent = r.ok ? (data.verdict + " · " + data.integrity) : (t("错误 ", "error ") + r.status);
    show(JSON.stringify(data, null, 2), r.ok ? "verdict-" + data.verdict : "verdict-inconclusive");
  });
  $("label").addEventListener("click", async () => {
    const c = chosen(); if (!c) return;
    $("status").textContent = t("写入中…", "labeling…");
    const r = await fetch("/v1/labels", { method: "POST", body: c[1] });
    if (!r.ok) { const e = await r.json(); $("status").textContent = t("错误 ", "error ") + r.status; show(JSON.stringify(e, null, 2)); return; }
    const blob = await r.blob();
    const a = document.createElement("a"); a.href = URL.createObjectURL(blob); a.download = c[0].name; a.click();
    $("status").textContent = t("已写入：", "labeled: ") + r.headers.get("X-Synthguard-Content-Id");
    show("");
  });
})();
