// Otklik's feedback widget for a business's own site: one tag,
//   <script src="https://otklik.example/f/widget.js" data-location="tverskaya" data-label="Feedback" defer></script>
// adds a button that opens the feedback form (the location's complaint book with
// data-location, the general form without) in a dialog, in the page's language.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var slug = script.getAttribute("data-location");
  var language = (document.documentElement.lang || navigator.language || "").slice(0, 2);
  var form = origin + "/f" + (slug ? "/" + encodeURIComponent(slug) : "") + (language ? "?lang=" + encodeURIComponent(language) : "");
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = script.getAttribute("data-label") || "Feedback";
  button.setAttribute("style", "position:fixed;right:1rem;bottom:1rem;z-index:2147483647;padding:.6rem 1rem;border:0;border-radius:.5rem;background:#0b5cad;color:#fff;font:16px system-ui,sans-serif;cursor:pointer");
  button.addEventListener("click", function () {
    var dialog = document.createElement("dialog");
    dialog.setAttribute("style", "width:min(36rem,96vw);height:min(44rem,92vh);padding:0;border:1px solid #ccc;border-radius:.5rem");
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", "Close");
    close.setAttribute("style", "position:absolute;right:.25rem;top:.25rem;border:0;background:none;font-size:1.5rem;cursor:pointer");
    close.addEventListener("click", function () { dialog.close(); dialog.remove(); });
    var frame = document.createElement("iframe");
    frame.src = form;
    frame.title = button.textContent;
    frame.setAttribute("style", "width:100%;height:100%;border:0");
    dialog.appendChild(close);
    dialog.appendChild(frame);
    document.body.appendChild(dialog);
    dialog.showModal();
  });
  document.body.appendChild(button);
})();
