// Progressive enhancement of the server-rendered pages. Every action also works as a plain form
// without this script; with it, forms are sent in the background, the list updates in place
// and live (Server-Sent Events), and the keyboard drives the list.
(function () {
  "use strict";

  const doc = document;
  const $ = (selector, root) => (root || doc).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || doc).querySelectorAll(selector));
  const csrf = ($('meta[name="csrf-token"]') || {}).content || "";
  const signedIn = doc.body.dataset.signedIn === "true";

  // ---------- Time zone: times are typed and shown in the browser's zone ----------

  const zone = (Intl.DateTimeFormat().resolvedOptions().timeZone) || "UTC";
  $$("input[data-timezone]").forEach((input) => { input.value = zone; });
  const cookieZone = (doc.cookie.match(/(?:^|; )todo_tz=([^;]*)/) || [])[1];
  if (cookieZone !== encodeURIComponent(zone)) {
    doc.cookie = "todo_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    // The list was drawn in another zone: draw it again in this one.
    if ($("#task-list")) setTimeout(() => refreshList(), 0);
  }

  // ---------- Theme ----------

  const root = doc.documentElement;
  const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");
  function storedTheme() {
    try { return localStorage.getItem("todo-theme"); } catch (error) { return null; }
  }
  function effectiveTheme() {
    const stored = storedTheme();
    return stored === "light" || stored === "dark" ? stored : (darkQuery.matches ? "dark" : "light");
  }
  function setTheme(choice) {
    try {
      if (choice === "light" || choice === "dark") localStorage.setItem("todo-theme", choice);
      else localStorage.removeItem("todo-theme");
    } catch (error) { /* not stored */ }
    if (choice === "light" || choice === "dark") root.setAttribute("data-theme", choice);
    else root.removeAttribute("data-theme");
    showTheme();
  }
  function showTheme() {
    const toggle = $("#theme-toggle");
    const dark = effectiveTheme() === "dark";
    if (toggle) {
      toggle.setAttribute("aria-pressed", String(dark));
      toggle.title = dark ? "Light theme" : "Dark theme";
    }
    const select = $("#theme-select");
    if (select) select.value = storedTheme() || "system";
  }
  function toggleTheme() { setTheme(effectiveTheme() === "dark" ? "light" : "dark"); }
  const themeToggle = $("#theme-toggle");
  if (themeToggle) themeToggle.addEventListener("click", toggleTheme);
  const themeSelect = $("#theme-select");
  if (themeSelect) themeSelect.addEventListener("change", () => setTheme(themeSelect.value));
  darkQuery.addEventListener("change", showTheme);
  showTheme();

  // ---------- Announcements (toast, read by screen readers) ----------

  const toast = $("#toast");
  let toastTimer = 0;
  function announce(message, action) {
    if (!toast) return;
    clearTimeout(toastTimer);
    toast.textContent = "";
    const text = doc.createElement("span");
    text.textContent = message;
    toast.appendChild(text);
    if (action) {
      const button = doc.createElement("button");
      button.type = "button";
      button.textContent = action.label;
      button.addEventListener("click", () => { toast.textContent = ""; action.run(); });
      toast.appendChild(button);
    }
    toastTimer = setTimeout(() => { toast.textContent = ""; }, action ? 7000 : 4000);
  }

  // ---------- Talking to the server ----------

  function toLogin(response) {
    if (response.status === 401 || (response.redirected && new URL(response.url).pathname === "/login")) {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      return true;
    }
    return false;
  }

  /** Calls the backend API through this site's /api proxy (the session cookie authenticates). */
  async function api(method, path, body) {
    const headers = { "Accept": "application/json", "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (toLogin(response)) throw new Error("signed out");
    return response;
  }

  /** Posts form fields to one of the page's routes in the background; the server answers JSON. */
  async function post(action, fields) {
    const response = await fetch(action, {
      method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" }, body: fields,
    });
    if (toLogin(response)) throw new Error("signed out");
    const json = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, json };
  }

  /** Sends one of the page's forms in the background. */
  function send(form) { return post(form.action, new URLSearchParams(new FormData(form))); }

  function errorMessage(result) {
    return (result.json && result.json.error && result.json.error.message) || "That did not work. Try again.";
  }

  // ---------- The list: refresh in place ----------

  const list = $("#task-list");
  let editing = false;
  // Moves being dragged or saved: a redraw now would show the order before them.
  let movesPending = 0;
  let movesStarted = 0;
  // Refreshes overlap (a live event's and a quick add's): only the last one started may draw,
  // or an answer that left the server before a change could land after one that saw it.
  let refreshesStarted = 0;
  let refreshWanted = false;
  let refreshTimer = 0;
  let selectedID = null;

  function scheduleRefresh(delay) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshList, delay === undefined ? 120 : delay);
  }

  function busy() { return editing || movesPending > 0; }

  async function refreshList() {
    if (!list) return;
    if (busy()) { refreshWanted = true; return; }
    const moves = movesStarted;
    const refresh = ++refreshesStarted;
    try {
      const response = await fetch(location.pathname + location.search, {
        credentials: "same-origin", headers: { "X-Fragment": "list" },
      });
      if (toLogin(response) || !response.ok) return;
      const html = await response.text();
      if (refresh !== refreshesStarted) return;
      if (busy()) { refreshWanted = true; return; }
      // A move made while this was loading: this list is older than the page.
      if (moves !== movesStarted) { scheduleRefresh(0); return; }
      const hadFocus = list.contains(doc.activeElement) && doc.activeElement.closest(".task");
      const control = focusedControl(hadFocus);
      list.innerHTML = html;
      const sidebar = $("template[data-sidebar]", list);
      if (sidebar) { $("#sidebar-lists").replaceChildren(sidebar.content.cloneNode(true)); sidebar.remove(); }
      if (selectedID) {
        const row = rowByID(selectedID);
        if (row) {
          row.classList.add("is-selected");
          if (hadFocus) ((control && $(control, row)) || row).focus({ preventScroll: true });
        }
      }
      const returnTo = $("#quick-add input[name=return_to]");
      if (returnTo) returnTo.value = location.pathname + location.search;
    } catch (error) {
      // Offline for a moment: the next event or action refreshes again.
    }
  }

  /** A selector that finds the focused move control of a row again after a redraw (else the row takes the focus). */
  function focusedControl(row) {
    const active = doc.activeElement;
    if (!row || active === row) return null;
    if (active.classList.contains("drag-handle")) return ".drag-handle";
    const form = active.closest(".move-form");
    return form ? '.move-form[data-direction="' + form.dataset.direction + '"] button' : null;
  }

  function rows() { return $$(".task", list || doc); }
  function rowByID(id) { return list ? list.querySelector('.task[data-task-id="' + id + '"]') : null; }
  function selectedRow() { return selectedID ? rowByID(selectedID) : null; }

  function select(row, focus) {
    rows().forEach((item) => item.classList.remove("is-selected"));
    if (!row) { selectedID = null; return; }
    selectedID = row.dataset.taskId;
    row.classList.add("is-selected");
    if (focus !== false) row.focus();
  }

  function move(step) {
    const all = rows();
    if (all.length === 0) return;
    const index = all.indexOf(selectedRow());
    const next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
    all[next].scrollIntoView({ block: "nearest" });
  }

  if (list) {
    list.addEventListener("focusin", (event) => {
      const row = event.target.closest(".task");
      if (row) select(row, false);
    });
    list.addEventListener("dblclick", (event) => {
      const title = event.target.closest(".task-title");
      if (title) { event.preventDefault(); renameInline(title.closest(".task")); }
    });
    // Complete and delete: one click, in the background.
    list.addEventListener("submit", async (event) => {
      const form = event.target;
      const kind = form.dataset.enhance;
      if (kind === "move") {
        event.preventDefault();
        const button = event.submitter;
        moveBy(form.closest(".task"), form.dataset.direction === "up" ? -1 : 1);
        if (button && button.isConnected) button.focus();
        return;
      }
      if (kind !== "toggle" && kind !== "delete") return;
      event.preventDefault();
      const row = form.closest(".task");
      const title = row ? $(".task-title", row).textContent : "Task";
      if (kind === "toggle") await toggle(row, form, title);
      else await remove(row, form, title);
    });
  }

  async function toggle(row, form, title) {
    const wantsDone = form.elements.completed.value === "true";
    if (row) row.classList.toggle("is-done", wantsDone);
    try {
      const result = await send(form);
      if (!result.ok) throw new Error(errorMessage(result));
      announce(result.json.message || (wantsDone ? "Completed." : "Reopened."), {
        label: "Undo",
        run: async () => {
          await api("PATCH", "/api/me/tasks/" + row.dataset.taskId + "/complete", { completed: !wantsDone });
          scheduleRefresh(0);
        },
      });
    } catch (error) {
      if (row) row.classList.toggle("is-done", !wantsDone);
      announce(error.message === "signed out" ? "Signed out." : "Could not update “" + title + "”.");
    }
    scheduleRefresh(wantsDone ? 700 : 0);
  }

  async function remove(row, form, title) {
    if (row) row.classList.add("is-leaving");
    try {
      const result = await send(form);
      // 409: sub-tasks came since the row was drawn, and the server says what to do.
      if (!result.ok) throw new Error(result.status === 409 ? errorMessage(result) : "");
      announce("Deleted “" + title + "”.");
    } catch (error) {
      if (row) row.classList.remove("is-leaving");
      announce(error.message && error.message !== "signed out" ? error.message : "Could not delete “" + title + "”.");
    }
    scheduleRefresh(200);
  }

  // Inline rename: e on the selected task, or a double click on its title.
  function renameInline(row) {
    if (!row || $(".inline-edit", row)) return;
    const link = $(".task-title", row);
    const input = doc.createElement("input");
    input.type = "text";
    input.className = "inline-edit";
    input.value = link.textContent;
    input.maxLength = 200;
    input.setAttribute("aria-label", "Title of “" + link.textContent + "”");
    link.hidden = true;
    link.after(input);
    editing = true;
    input.focus();
    input.select();
    let done = false;
    async function finish(save) {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== link.textContent) {
        try {
          const response = await api("PATCH", "/api/me/tasks/" + row.dataset.taskId, { title });
          if (!response.ok) {
            const problem = await response.json().catch(() => ({}));
            throw new Error((problem.error && problem.error.message) || "not saved");
          }
          link.textContent = title;
          announce("Renamed to “" + title + "”.");
        } catch (error) {
          announce("Could not rename: " + error.message);
        }
      }
      input.remove();
      link.hidden = false;
      editing = false;
      row.focus();
      if (refreshWanted) { refreshWanted = false; scheduleRefresh(0); }
    }
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); finish(true); }
      if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
  }

  // ---------- Manual order: drag a row by its handle, Alt+Arrow keys on it, or its move buttons ----------
  // The row moves at once among the rows of its parent (its sub-tasks with it), then its new
  // position, between its new neighbours', goes to the move buttons' route. The dragged row itself
  // never leaves the document (its neighbours move around it), so that it keeps the pointer
  // capture and the focus.

  const orderStep = 1024; // the server's ManualOrder.step
  let moveQueue = Promise.resolve();

  function depth(row) { return Number(row.dataset.depth); }

  /** The row and the rows of its sub-tasks, which follow it deeper. */
  function block(row) {
    const rows = [row];
    for (let next = row.nextElementSibling; next && depth(next) > depth(row); next = next.nextElementSibling) rows.push(next);
    return rows;
  }

  function siblings(row) {
    return $$(".task[data-position]", row.parentElement).filter((item) => item.dataset.parent === row.dataset.parent);
  }

  /** Moves the row to `index` among its siblings by moving them past it, one at a time. */
  function place(row, index) {
    index = Math.max(0, Math.min(index, siblings(row).length - 1));
    for (let all = siblings(row), at = all.indexOf(row); at !== index; all = siblings(row), at = all.indexOf(row)) {
      if (at > index) block(row).at(-1).after(...block(all[at - 1]));
      else row.before(...block(all[at + 1]));
    }
  }

  function positionAmong(row) {
    const all = siblings(row);
    const index = all.indexOf(row);
    const before = all[index - 1] && Number(all[index - 1].dataset.position);
    const after = all[index + 1] && Number(all[index + 1].dataset.position);
    if (before !== undefined && after !== undefined) return (before + after) / 2;
    if (before !== undefined) return before + orderStep;
    if (after !== undefined) return after - orderStep;
    return Number(row.dataset.position);
  }

  function holdRedraws() { movesPending += 1; movesStarted += 1; }
  function releaseRedraws() {
    movesPending -= 1;
    if (!busy() && refreshWanted) { refreshWanted = false; scheduleRefresh(0); }
  }

  /** Stores the place the row was moved to (from `from`, its index before); on failure puts it back. */
  function saveMove(row, from) {
    const title = $(".task-title", row).textContent;
    const all = siblings(row);
    const previous = row.dataset.position;
    const position = positionAmong(row);
    row.dataset.position = String(position);
    const fields = new URLSearchParams({ _csrf: csrf, position: String(position), return_to: location.pathname + location.search });
    holdRedraws();
    moveQueue = moveQueue.then(async () => {
      try {
        const result = await post("/tasks/" + row.dataset.taskId + "/move", fields);
        if (!result.ok) throw new Error(errorMessage(result));
        announce(title + " moved to position " + (all.indexOf(row) + 1) + " of " + all.length);
        // The server renumbered the list (the gap had run out): draw its numbers.
        if (result.json.position !== position) refreshWanted = true;
      } catch (error) {
        row.dataset.position = previous;
        place(row, from);
        announce("Could not move “" + title + "”, so it is back in its place.");
      }
    }).finally(releaseRedraws);
  }

  function moveBy(row, step) {
    const from = siblings(row).indexOf(row);
    const to = from + step;
    if (to < 0 || to >= siblings(row).length) return;
    place(row, to);
    saveMove(row, from);
  }

  /** Drags a row by its handle: the row follows the pointer among its siblings, and is saved where it is dropped. */
  function startDrag(event, handle) {
    const row = handle.closest(".task");
    const from = siblings(row).indexOf(row);
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    row.classList.add("is-dragging");
    holdRedraws();
    function follow(moveEvent) {
      const others = siblings(row).filter((item) => item !== row);
      const below = others.findIndex((item) => {
        const box = item.getBoundingClientRect();
        return moveEvent.clientY < box.top + box.height / 2;
      });
      place(row, below < 0 ? others.length : below);
    }
    function drop(endEvent) {
      handle.removeEventListener("pointermove", follow);
      handle.removeEventListener("pointerup", drop);
      handle.removeEventListener("pointercancel", drop);
      row.classList.remove("is-dragging");
      if (endEvent.type === "pointercancel") place(row, from);
      else if (siblings(row).indexOf(row) !== from) saveMove(row, from);
      releaseRedraws();
    }
    handle.addEventListener("pointermove", follow);
    handle.addEventListener("pointerup", drop);
    handle.addEventListener("pointercancel", drop);
  }

  if (list) {
    list.addEventListener("pointerdown", (event) => {
      const handle = event.target.closest(".drag-handle");
      if (handle && event.isPrimary && event.button === 0) startDrag(event, handle);
    });
    list.addEventListener("keydown", (event) => {
      const handle = event.target.closest(".drag-handle");
      if (!handle || !event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
      event.preventDefault();
      moveBy(handle.closest(".task"), event.key === "ArrowUp" ? -1 : 1);
    });
  }

  // ---------- Quick add ----------

  const quickAdd = $("#quick-add");
  if (quickAdd) {
    quickAdd.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = quickAdd.elements.text;
      if (!input.value.trim()) return;
      const button = $("button[type=submit]", quickAdd);
      button.disabled = true;
      try {
        const result = await send(quickAdd);
        const errors = $("#quick-add-errors");
        if (result.ok) {
          input.value = "";
          if (errors) errors.remove();
          announce(result.json.message || "Added.");
          await refreshList();
        } else {
          showQuickAddError(errorMessage(result));
        }
      } catch (error) {
        if (error.message !== "signed out") showQuickAddError("Could not add the task. Is the server reachable?");
      } finally {
        button.disabled = false;
        input.focus();
      }
    });
  }

  function showQuickAddError(message) {
    let box = $("#quick-add-errors");
    if (!box) {
      box = doc.createElement("div");
      box.id = "quick-add-errors";
      box.className = "alert error";
      box.setAttribute("role", "alert");
      $(".quick-add").appendChild(box);
    }
    box.textContent = message;
  }

  // ---------- Search and filters: the list follows as you type ----------

  const filters = $("#filters");
  // On a phone the filters fold away (unless some are on); on wider screens they always show.
  const filterOptions = $("#filter-options");
  if (filterOptions && window.matchMedia("(max-width: 640px)").matches && !$(".filter-badge", filterOptions)) {
    filterOptions.open = false;
  }
  if (filters) {
    let filterTimer = 0;
    const defaults = { status: "pending", sort: filters.elements.sort.dataset.default };
    function applyFilters() {
      const parameters = new URLSearchParams();
      for (const [name, value] of new FormData(filters)) {
        const text = String(value).trim();
        if (text && defaults[name] !== text) parameters.set(name, text);
      }
      const query = parameters.toString();
      history.replaceState(null, "", query ? "/?" + query : "/");
      refreshList();
    }
    filters.addEventListener("change", (event) => { if (event.target.tagName === "SELECT") applyFilters(); });
    filters.addEventListener("input", (event) => {
      if (event.target.tagName !== "INPUT") return;
      clearTimeout(filterTimer);
      filterTimer = setTimeout(applyFilters, 250);
    });
    filters.addEventListener("submit", (event) => { event.preventDefault(); applyFilters(); });
  }

  // ---------- Live updates and reminders ----------

  const liveStatus = $("#live-status");
  function showLive(state, text) {
    if (!liveStatus) return;
    liveStatus.dataset.state = state;
    $(".live-text", liveStatus).textContent = text;
    liveStatus.title = state === "live" ? "Changes from other tabs and devices appear here at once" : text;
  }

  if (signedIn && "EventSource" in window) {
    const events = new EventSource("/api/me/events");
    events.addEventListener("open", () => showLive("live", "Live"));
    events.addEventListener("error", () => {
      showLive("offline", events.readyState === EventSource.CLOSED ? "Offline" : "Reconnecting");
    });
    ["task.created", "task.updated", "task.deleted"].forEach((type) => {
      events.addEventListener(type, () => scheduleRefresh());
    });
    events.addEventListener("reminder.due", (event) => {
      let task = {};
      try { task = JSON.parse(event.data); } catch (error) { /* keep going */ }
      showReminder(task);
    });
    window.addEventListener("pagehide", () => events.close());
  } else {
    showLive("offline", "Offline");
  }

  function showReminder(task) {
    const title = task.title || "A task";
    announce("Reminder: " + title);
    if ("Notification" in window && Notification.permission === "granted") {
      const due = task.due_at ? "Due " + new Date(task.due_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "";
      const notification = new Notification(title, { body: due, tag: "todo-reminder-" + task.id });
      notification.addEventListener("click", () => {
        window.focus();
        if (task.id) window.location.assign("/tasks/" + task.id);
      });
    }
  }

  const notifyButton = $("#notifications-enable");
  const notifyState = $("#notifications-state");
  function showNotificationState() {
    if (!notifyButton) return;
    if (!("Notification" in window)) {
      notifyButton.disabled = true;
      notifyState.textContent = "This browser cannot show notifications.";
    } else if (Notification.permission === "granted") {
      notifyButton.disabled = true;
      notifyState.textContent = "On: reminders appear as notifications.";
    } else if (Notification.permission === "denied") {
      notifyButton.disabled = true;
      notifyState.textContent = "Blocked in the browser's site settings.";
    } else {
      notifyState.textContent = "Off: reminders appear only on the page.";
    }
  }
  if (notifyButton) {
    notifyButton.addEventListener("click", async () => {
      await Notification.requestPermission();
      showNotificationState();
    });
    showNotificationState();
  }

  // ---------- Web Push on this device ----------
  // The browser subscribes with the push service under the server's VAPID key; the server keeps
  // the subscription and sends due reminders to it (the service worker, sw.js, shows them).

  const pushButton = $("#push-toggle");
  const pushState = $("#push-state");
  const pushIdKey = "todo-push-subscription";

  function base64URLBytes(text) {
    const base64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
  }

  async function pushSubscription() {
    const registration = await navigator.serviceWorker.getRegistration("/");
    return registration ? registration.pushManager.getSubscription() : null;
  }

  async function showPushState() {
    const subscription = await pushSubscription().catch(() => null);
    pushButton.textContent = subscription ? "Turn off on this device" : "Turn on for this device";
    pushState.textContent = subscription ? "On: reminders reach this device with the app closed." : "Off on this device.";
  }

  async function turnPushOn() {
    const key = await api("GET", "/api/push/vapid-public-key");
    if (!key.ok) {
      pushState.textContent = "Push notifications are not enabled on this server.";
      return;
    }
    if (await Notification.requestPermission() !== "granted") {
      pushState.textContent = "Notifications are blocked in the browser's site settings.";
      return;
    }
    // Registered at start-up; `ready` waits for it to be active (and registers nothing itself).
    await navigator.serviceWorker.register("/sw.js");
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: base64URLBytes((await key.json()).key),
    });
    const saved = await api("POST", "/api/me/push-subscriptions", subscription.toJSON());
    const json = await saved.json().catch(() => ({}));
    if (!saved.ok) {
      await subscription.unsubscribe();
      pushState.textContent = errorMessage({ json });
      return;
    }
    localStorage.setItem(pushIdKey, json.id);
  }

  /** Forgets the subscription here and on the server; a server that missed it drops it at the
   * push service's next 410. */
  async function turnPushOff(subscription) {
    const id = localStorage.getItem(pushIdKey);
    if (id) await api("DELETE", "/api/me/push-subscriptions/" + encodeURIComponent(id));
    localStorage.removeItem(pushIdKey);
    await subscription.unsubscribe();
  }

  if (pushButton) {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      pushButton.disabled = true;
      pushState.textContent = "This browser cannot receive push notifications here (they need https).";
    } else {
      pushButton.addEventListener("click", async () => {
        pushButton.disabled = true;
        try {
          const subscription = await pushSubscription();
          if (subscription) await turnPushOff(subscription); else await turnPushOn();
          await showPushState();
        } catch (error) {
          pushState.textContent = "That did not work: " + error.message;
        } finally {
          pushButton.disabled = false;
        }
      });
      showPushState();
    }
  }

  // ---------- Assistant chat panel ----------

  const panel = $("#chat-panel");
  const chatLog = $("#chat-log");
  const chatForm = $("#chat-form");
  const chatStore = "todo-chat";

  function chatState() {
    try { return JSON.parse(sessionStorage.getItem(chatStore)) || { messages: [] }; } catch (error) { return { messages: [] }; }
  }
  function saveChat(state) {
    state.messages = state.messages.slice(-40);
    try { sessionStorage.setItem(chatStore, JSON.stringify(state)); } catch (error) { /* not kept */ }
  }
  function addMessage(text, from, extraClass) {
    const item = doc.createElement("li");
    item.className = "message from-" + from + (extraClass ? " " + extraClass : "");
    const who = doc.createElement("span");
    who.className = "who";
    who.textContent = from === "user" ? "You" : "Assistant";
    const body = doc.createElement("p");
    body.textContent = text;
    item.append(who, body);
    chatLog.appendChild(item);
    chatLog.scrollTop = chatLog.scrollHeight;
    return item;
  }
  function openChat() {
    if (!panel) return;
    panel.hidden = false;
    const opener = $("#chat-open");
    if (opener) opener.setAttribute("aria-expanded", "true");
    doc.body.classList.add("chat-open");
    $("#chat-input").focus();
    try { sessionStorage.setItem("todo-chat-open", "1"); } catch (error) { /* ignore */ }
  }
  function closeChat() {
    if (!panel) return;
    panel.hidden = true;
    doc.body.classList.remove("chat-open");
    try { sessionStorage.removeItem("todo-chat-open"); } catch (error) { /* ignore */ }
    const opener = $("#chat-open");
    if (opener) { opener.setAttribute("aria-expanded", "false"); opener.focus(); }
  }

  if (panel && chatLog && chatForm) {
    chatState().messages.forEach((message) => addMessage(message.text, message.from, message.unavailable ? "is-unavailable" : ""));
    const opener = $("#chat-open");
    if (opener) opener.addEventListener("click", (event) => { event.preventDefault(); panel.hidden ? openChat() : closeChat(); });
    $("#chat-close").addEventListener("click", closeChat);
    try {
      if (sessionStorage.getItem("todo-chat-open") && !location.pathname.startsWith("/chat")) {
        panel.hidden = false;
        doc.body.classList.add("chat-open");
        if (opener) opener.setAttribute("aria-expanded", "true");
      }
    } catch (error) { /* ignore */ }

    chatForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = chatForm.elements.message;
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      const state = chatState();
      addMessage(text, "user");
      state.messages.push({ text, from: "user" });
      const pending = addMessage("Thinking…", "assistant", "is-pending");
      let reply;
      let unavailable = false;
      try {
        const body = { message: text, time_zone: zone };
        if (state.conversationID) body.conversation_id = state.conversationID;
        const response = await api("POST", "/api/me/chat", body);
        if (response.ok) {
          const json = await response.json();
          reply = json.response;
          state.conversationID = json.conversation_id;
          if (json.tool_calls && json.tool_calls.length) scheduleRefresh(0);
        } else if ([404, 405, 501, 502, 503].includes(response.status)) {
          unavailable = true;
        } else {
          const problem = await response.json().catch(() => ({}));
          reply = "Sorry: " + ((problem.error && problem.error.message) || "that did not work.");
        }
      } catch (error) {
        unavailable = true;
      }
      if (unavailable) reply = "The assistant is unavailable right now. Your tasks still work as usual.";
      pending.remove();
      addMessage(reply, "assistant", unavailable ? "is-unavailable" : "");
      state.messages.push({ text: reply, from: "assistant", unavailable });
      saveChat(state);
    });
  }

  // ---------- Edit page: the reminder time only matters for "At a set time" ----------

  const remind = $("#remind");
  const remindAtField = $("#remind-at-field");
  if (remind && remindAtField) {
    const update = () => remindAtField.classList.toggle("remind-hidden", remind.value !== "custom");
    remind.addEventListener("change", update);
    update();
  }

  // ---------- Copy buttons (settings: a new token) ----------

  $$("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const field = doc.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(field.value);
        announce("Copied.");
      } catch (error) {
        field.select();
        announce("Press Ctrl+C to copy.");
      }
    });
  });

  // ---------- Keyboard shortcuts ----------

  const help = $("#help-dialog");
  const helpOpen = $("#help-open");
  function showHelp() { if (help && !help.open) help.showModal(); }
  if (helpOpen) helpOpen.addEventListener("click", showHelp);

  doc.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      if (help && help.open) return; // the dialog closes itself
      if (toast && toast.textContent) { toast.textContent = ""; clearTimeout(toastTimer); }
      if (panel && !panel.hidden) { closeChat(); return; }
      if (typing) target.blur();
      return;
    }
    if (typing) return;
    switch (event.key) {
      case "n": {
        const input = $("#quick-add-text");
        if (input) { event.preventDefault(); input.focus(); } else if (signedIn) { window.location.assign("/"); }
        break;
      }
      case "/": {
        const search = $("#search");
        if (search) { event.preventDefault(); search.focus(); search.select(); }
        break;
      }
      case "j": event.preventDefault(); move(1); break;
      case "k": event.preventDefault(); move(-1); break;
      case "x": {
        const row = selectedRow();
        if (row) { event.preventDefault(); $(".toggle-form button", row).click(); }
        break;
      }
      case "e": {
        const row = selectedRow();
        if (row) { event.preventDefault(); renameInline(row); }
        break;
      }
      case "Enter": {
        const row = selectedRow();
        if (row && target === row) { event.preventDefault(); window.location.assign($(".task-title", row).getAttribute("href")); }
        break;
      }
      case "c": if (panel) { event.preventDefault(); openChat(); } break;
      case "t": event.preventDefault(); toggleTheme(); break;
      case "?": event.preventDefault(); showHelp(); break;
      default: break;
    }
  });

  // ---------- Installable app: the service worker keeps the shell and an offline page ----------

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(() => {});  // without it the site works as before
  }

  // Relative dates ("Today", "Overdue") drift as time passes: redraw the list now and then.
  if (list) {
    setInterval(() => { if (doc.visibilityState === "visible") scheduleRefresh(0); }, 60000);
  }
})();
