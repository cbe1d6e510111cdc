// Login page: an API token, checked with GET /api/v1/whoami. A wrong token shows the
// API's own error (code, message, status); a right one opens the wallboard.

import { api, session, ApiError } from './api.js';
import { h, field, alertBox } from './dom.js';

export function mount(main, ctx) {
  const input = h('input', {
    type: 'password', name: 'token', autocomplete: 'current-password', required: true,
    spellcheck: 'false',
  });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const out = h('div', { class: 'result' });
  if (ctx.notice) out.append(alertBox(ctx.notice));
  const form = h('form', { class: 'login', 'aria-label': 'Log in' },
    h('h1', {}, 'Log in'),
    h('p', {}, 'Enter an API token from the switch configuration ([[api_token]]).'),
    field('API token', input), submit, out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    out.replaceChildren();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    try {
      const who = await api('/api/v1/whoami', { token });
      session.token = token;
      session.whoami = who;
      ctx.loggedIn(who);
    } catch (err) {
      out.append(alertBox(err instanceof ApiError ? err.describe() : String(err)));
      input.select();
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  input.focus();
  return () => {};
}
