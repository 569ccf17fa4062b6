/** The Strongroom web console: sign-in and the shell (region picker, tabs, message bar). */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { loadSession, saveSession, signIn, signOut, type Session } from './api.js';
import { KeysView } from './keys.js';
import { PeopleView } from './people.js';
import { formValues, html, makeRun, type Flash } from './ui.js';

function SignIn(props: { onSession: (s: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    const v = formValues(e);
    setBusy(true);
    setError(null);
    const run = makeRun((f) => setError(f?.kind === 'alert' ? f.text : null));
    await run(async () => {
      props.onSession(await signIn(v.domain!, v.user!, v.password!));
    });
    setBusy(false);
  };
  return html`<main class="signin"><section>
    <h2>Sign in to Strongroom</h2>
    ${error && html`<div class="alert" role="alert">${error}</div>`}
    <form onSubmit=${submit} aria-label="Sign in">
      <label>Account name<input name="domain" required autocomplete="organization" /></label>
      <label>User name<input name="user" required autocomplete="username" /></label>
      <label>Password<input name="password" type="password" required autocomplete="current-password" /></label>
      <button class="primary" type="submit" disabled=${busy}>Sign in</button>
    </form></section></main>`;
}

function Shell(props: { session: Session; onSignOut: () => void }) {
  const s = props.session;
  const [regionId, setRegionId] = useState(s.regions[0]?.id ?? '');
  const [tab, setTab] = useState<'keys' | 'people'>('keys');
  const [flash, setFlash] = useState<Flash | null>(null);
  const run = makeRun(setFlash);
  const region = s.regions.find((r) => r.id === regionId);
  return html`
    <header>
      <h1>Strongroom</h1>
      <nav class="tabs" aria-label="Sections">
        <button aria-current=${tab === 'keys' ? 'page' : undefined} onClick=${() => setTab('keys')}>Keys</button>
        <button aria-current=${tab === 'people' ? 'page' : undefined} onClick=${() => setTab('people')}>Users and groups</button>
      </nav>
      <label class="inline">Region
        <select value=${regionId} onChange=${(e: Event) => setRegionId((e.target as HTMLSelectElement).value)}>
          ${s.regions.map((r) => html`<option value=${r.id}>${r.id}</option>`)}
        </select>
      </label>
      <span class="who">${s.user} @ ${s.domain}</span>
      <button onClick=${props.onSignOut}>Sign out</button>
    </header>
    <main>
      ${flash && html`<div class=${flash.kind} role=${flash.kind}>${flash.text}</div>`}
      ${tab === 'keys'
        ? region
          ? html`<${KeysView} key=${region.id} session=${s} region=${region} run=${run} />`
          : html`<p>You have no project in any region.</p>`
        : html`<${PeopleView} session=${s} run=${run} />`}
    </main>`;
}

function App() {
  const [session, setSession] = useState<Session | null>(loadSession());
  const set = (s: Session | null) => {
    saveSession(s);
    setSession(s);
  };
  if (!session) return html`<${SignIn} onSession=${set} />`;
  return html`<${Shell} session=${session} onSignOut=${async () => (await signOut(session), set(null))} />`;
}

render(html`<${App} />`, document.getElementById('app')!);
