// The console shell: session (token → whoami), hash routing between the pages
// (#/wallboard, #/calls, #/campaigns, #/agent), the nav, log out. Each page module
// exports mount(main, ctx) and returns a function that stops its timers and streams.

import { api, session, ApiError } from './api.js';
import * as login from './login.js';
import * as wallboard from './wallboard.js';
import * as calls from './calls.js';
import * as campaigns from './campaigns.js';
import * as agent from './agent.js';

const PAGES = {
  wallboard: { module: wallboard, title: 'Wallboard' },
  calls: { module: calls, title: 'Calls history' },
  campaigns: { module: campaigns, title: 'Campaigns' },
  agent: { module: agent, title: 'Agent desktop' },
};

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const logoutButton = document.getElementById('logout');
let unmount = () => {};

function pageFromHash() {
  const name = location.hash.replace(/^#\/?/, '').split('?')[0];
  return PAGES[name] ? name : null;
}

function showChrome(loggedIn) {
  nav.hidden = !loggedIn;
  logoutButton.hidden = !loggedIn;
  const w = session.whoami;
  who.textContent = loggedIn && w ? `${w.name} (${w.role}${w.agent ? ', agent ' + w.agent : ''})` : '';
}

function render(notice) {
  unmount();
  unmount = () => {};
  if (!session.token || !session.whoami) {
    showChrome(false);
    document.title = 'Log in · Switchboard';
    unmount = login.mount(main, { notice, loggedIn: onLogin });
    return;
  }
  let name = pageFromHash();
  if (!name) {
    name = session.whoami.role === 'agent' ? 'agent' : 'wallboard';
    history.replaceState(null, '', '#/' + name);
  }
  showChrome(true);
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${PAGES[name].title} · Switchboard`;
  unmount = PAGES[name].module.mount(main, { whoami: session.whoami }) || (() => {});
}

function onLogin() {
  if (!pageFromHash()) location.hash = session.whoami.role === 'agent' ? '#/agent' : '#/wallboard';
  render();
}

function logout(notice) {
  session.token = null;
  session.whoami = null;
  render(notice);
}

session.onUnauthorized = (err) => logout(`Session ended: ${err.describe()}`);
logoutButton.addEventListener('click', () => logout());
window.addEventListener('hashchange', () => render());

async function start() {
  if (session.token) {
    try {
      session.whoami = await api('/api/v1/whoami');
    } catch (err) {
      // a 401 has already logged out (session.onUnauthorized) and shown why
      if (err instanceof ApiError && err.status === 401) return;
      session.token = null;
      render(err instanceof ApiError ? err.describe() : String(err));
      return;
    }
  }
  render();
}

start();
