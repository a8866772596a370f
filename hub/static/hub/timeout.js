// The idle timeout's warning (issue 14, item 1): the session ends after data-timeout-seconds
// without a request (the server's own rule: SESSION_COOKIE_AGE, renewed by every request);
// data-warning-seconds before that, a dialog says so and lets the person stay signed in
// (a POST to /session/extend/, which renews the session). At the end the page signs the person
// out (a POST to the sign-out, whatever another tab renewed) and shows the sign-in page.
// An external module: the Content-Security-Policy allows no inline script.
const dialog = document.getElementById("timeout-warning");

if (dialog) {
  const timeout = Number(dialog.dataset.timeoutSeconds) * 1000;
  const warning = Number(dialog.dataset.warningSeconds) * 1000;
  const form = document.getElementById("timeout-extend");
  const signOut = document.getElementById("timeout-sign-out");
  const countdown = document.getElementById("timeout-countdown");
  let warnAt, endAt, ticking;

  const remaining = () => Math.max(0, Math.ceil((endAt - Date.now()) / 1000));

  function tick() {
    const seconds = remaining();
    countdown.textContent = `(${seconds} s)`;
    if (seconds === 0) {
      clearInterval(ticking);
      signOut.submit();
    }
  }

  function start() {
    clearTimeout(warnAt);
    clearInterval(ticking);
    endAt = Date.now() + timeout;
    warnAt = setTimeout(() => {
      tick();
      ticking = setInterval(tick, 1000);
      dialog.showModal();
    }, Math.max(0, timeout - warning));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    });
    if (response.ok) {
      dialog.close();
      start();
    } else {
      signOut.submit();
    }
  });

  start();
}
