// Runs before the page is drawn (no flash of the wrong theme): marks the page as scripted and
// applies the theme chosen with the toggle, if any. Everything else is in app.js.
(function () {
  var root = document.documentElement;
  root.classList.add("js");
  try {
    var theme = localStorage.getItem("todo-theme");
    if (theme === "light" || theme === "dark") root.setAttribute("data-theme", theme);
  } catch (error) {
    // Storage may be unavailable (private mode); the system theme applies.
  }
})();
