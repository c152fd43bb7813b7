// Otklik's workspace: a little progressive enhancement, hand-written. Every page works without
// it; with it, the inbox updates live, the composer is checked as the agent types, and the
// common moves have keys (listed on the help overlay, `?`).
"use strict";

(function () {
  // The inbox: a server-sent event says something changed; the table is fetched again and put
  // in place (the filters and the ticked boxes stay as they are).
  const live = document.getElementById("live");
  if (live && window.EventSource) {
    let shown = Number(live.dataset.change || 0);
    const source = new EventSource("/inbox/events");
    source.addEventListener("change", async (event) => {
      const change = Number(event.data);
      if (change <= shown) return;
      shown = change;
      try {
        const response = await fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("listing");
        const current = document.getElementById("listing");
        if (fresh && current) {
          const ticked = new Set([...current.querySelectorAll("input[name=case]:checked")].map((box) => box.value));
          const chosen = current.querySelector("select[name=assignee]")?.value;
          current.replaceWith(fresh);
          fresh.querySelectorAll("input[name=case]").forEach((box) => { box.checked = ticked.has(box.value); });
          const select = fresh.querySelector("select[name=assignee]");
          if (select && chosen !== undefined) select.value = chosen;
        } else {
          live.hidden = false;
        }
      } catch (_) {
        live.hidden = false;
      }
    });
  }

  // The composer: the house standard's findings beside the text, a moment after typing stops.
  const form = document.getElementById("reply-form");
  const findings = document.getElementById("findings");
  if (form && findings) {
    const body = form.querySelector("textarea[name=body]");
    let timer = null;
    let asked = 0;
    const check = async () => {
      const ask = ++asked;
      const data = new URLSearchParams();
      data.set("csrf", form.querySelector("input[name=csrf]").value);
      data.set("body", body.value);
      const isPublic = form.querySelector("input[name=public]");
      if (isPublic && isPublic.checked) data.set("public", "1");
      if (form.querySelector("input[name=mode]:checked")?.value === "note") {
        findings.textContent = "";
        return;
      }
      try {
        const response = await fetch(form.dataset.check, { method: "POST", body: data, credentials: "same-origin" });
        if (response.ok && ask === asked) findings.innerHTML = await response.text();
      } catch (_) {
        // The check runs again when the reply is sent.
      }
    };
    const soon = () => { clearTimeout(timer); timer = setTimeout(check, 400); };
    body.addEventListener("input", soon);
    form.addEventListener("change", soon);
    if (body.value.trim() !== "") soon();
  }

  // Keys: j/k move through the inbox, Enter opens, r replies, a assigns to me, / searches,
  // ? shows the list.
  const rows = () => [...document.querySelectorAll("#cases tbody tr")];
  let at = -1;
  const mark = (index) => {
    const all = rows();
    if (all.length === 0) return;
    at = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, n) => row.classList.toggle("current", n === at));
    const link = all[at].querySelector("a");
    if (link) link.focus();
  };
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const help = document.getElementById("shortcuts");
    switch (event.key) {
      case "j": mark(at + 1); break;
      case "k": mark(at - 1); break;
      case "Enter": {
        const row = rows()[at];
        const link = row && row.querySelector("a");
        if (link && document.activeElement !== link) link.click(); else return;
        break;
      }
      case "r": {
        const reply = document.getElementById("reply-body");
        if (!reply) return;
        reply.focus();
        break;
      }
      case "a": {
        const assign = document.getElementById("assign-me");
        if (!assign) return;
        assign.requestSubmit();
        break;
      }
      case "/": {
        const search = document.getElementById("q");
        if (!search) return;
        search.focus();
        break;
      }
      case "?":
        if (help && help.showModal) help.showModal();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
})();
