// The service worker of Web Push: shows a due reminder as a notification even when no tab of the
// app is open, and opens the task when the notification is clicked. Settings registers it with
// the scope /static/push/, so it controls no page: it only receives push messages.
"use strict";

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = {};
  }
  const task = message.task || {};
  const due = task.due_at ? "Due " + new Date(task.due_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "";
  // The page's own reminder notification has the same tag: a reminder shows once, also if it
  // arrives both ways, or twice by push after a server restart.
  event.waitUntil(self.registration.showNotification(task.title || "Reminder", {
    body: due, tag: "todo-reminder-" + (task.id || message.id), data: { path: task.id ? "/tasks/" + task.id : "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = (event.notification.data && event.notification.data.path) || "/";
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === self.location.origin && "navigate" in client);
    if (open) {
      await open.focus();
      return open.navigate(path);
    }
    return self.clients.openWindow(path);
  })());
});
