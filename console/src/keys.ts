/** Keys of a region: list (filters, paging), create, and one key's page (state, alias, tags, rotation, replicas, grants, encrypt). */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, kms, regionCall, type RegionSession, type Session } from './api.js';
import { formValues, html, KEY_STATES, when, type Run } from './ui.js';

type Json = Record<string, any>;

/** Every key spec and the usages it takes (first: the default), as src/core/key-specs.ts lists them. */
export const SPECS: Record<string, string[]> = {
  AES_256: ['ENCRYPT_DECRYPT'], SM4: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'], RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  EC_P256: ['SIGN_VERIFY'], EC_P384: ['SIGN_VERIFY'], SECP256K1: ['SIGN_VERIFY'], ED25519: ['SIGN_VERIFY'], SM2: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'KEY_AGREEMENT'],
  HMAC_256: ['GENERATE_VERIFY_MAC'], HMAC_384: ['GENERATE_VERIFY_MAC'], HMAC_512: ['GENERATE_VERIFY_MAC'], HMAC_SM3: ['GENERATE_VERIFY_MAC'],
};

const GRANT_OPERATIONS = ['describe-key', 'encrypt-data', 'decrypt-data', 'create-datakey', 'create-datakey-without-plaintext', 'encrypt-datakey', 'decrypt-datakey', 'create-grant', 'retire-grant'];

interface Props {
  session: Session;
  region: RegionSession;
  run: Run;
}

export function KeysView({ session, region, run }: Props) {
  const [filters, setFilters] = useState({ state: '', spec: 'ALL', alias: '', limit: '10' });
  // Markers of the pages before the current one (the first page's is ''), and the current page's.
  const [markers, setMarkers] = useState<string[]>([]);
  const [marker, setMarker] = useState('');
  const [page, setPage] = useState<{ keys: Json[]; next: string; total: number } | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const reload = () => setReloads((n) => n + 1);

  useEffect(() => {
    void run(async () => {
      const body: Json = { limit: Number(filters.limit), key_spec: filters.spec };
      if (filters.state) body.key_state = filters.state;
      if (marker) body.marker = Number(marker);
      const r = await kms(region, 'list-keys', body);
      setPage({ keys: r.key_details, next: r.next_marker, total: r.total });
    });
  }, [region.id, filters, marker, reloads]);

  const setFilter = (name: string) => (e: Event) => {
    setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value });
    if (name !== 'alias') (setMarkers([]), setMarker(''));
  };
  const shown = (page?.keys ?? []).filter((k) => !filters.alias || String(k.key_alias).toLowerCase().includes(filters.alias.toLowerCase()));

  return html`
    <${CreateKey} region=${region} run=${run} onCreated=${(id: string) => (setSelected(id), setMarkers([]), setMarker(''), reload())} />
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">Keys in ${region.id}</h2>
      <div class="row" role="group" aria-label="Filters">
        <label>State<select value=${filters.state} onChange=${setFilter('state')}>
          <option value="">Any state</option>
          ${Object.entries(KEY_STATES).map(([v, t]) => html`<option value=${v}>${t}</option>`)}
        </select></label>
        <label>Spec<select value=${filters.spec} onChange=${setFilter('spec')}>
          <option value="ALL">Every spec</option>
          ${Object.keys(SPECS).map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
        <label>Alias contains<input type="search" value=${filters.alias} onInput=${setFilter('alias')} /></label>
        <label>Page size<select value=${filters.limit} onChange=${setFilter('limit')}>
          ${['5', '10', '20', '50', '100'].map((n) => html`<option value=${n}>${n}</option>`)}
        </select></label>
      </div>
      <table aria-label="Keys">
        <thead><tr><th>Alias</th><th>Key ID</th><th>Spec</th><th>Usage</th><th>State</th><th>Region type</th><th></th></tr></thead>
        <tbody>
          ${shown.map((k) => html`<tr class=${k.key_id === selected ? 'selected' : ''}>
            <td>${k.key_alias}</td><td class="mono">${k.key_id}</td><td>${k.key_spec}</td><td>${k.key_usage}</td>
            <td>${KEY_STATES[k.key_state] ?? k.key_state}</td><td>${k.multi_region_key_type}</td>
            <td><button aria-label=${`Open ${k.key_alias}`} onClick=${() => setSelected(k.key_id)}>Open</button></td>
          </tr>`)}
        </tbody>
      </table>
      <div class="row">
        <button disabled=${markers.length === 0} onClick=${() => (setMarker(markers[markers.length - 1]!), setMarkers(markers.slice(0, -1)))}>Previous page</button>
        <button disabled=${!page?.next} onClick=${() => (setMarkers([...markers, marker]), setMarker(page!.next))}>Next page</button>
        <span aria-live="polite">Page ${markers.length + 1}: ${shown.length} shown of ${page?.total ?? 0} keys</span>
      </div>
    </section>
    ${selected && html`<${KeyPage} key=${`${region.id}/${selected}`} session=${session} region=${region} keyId=${selected} run=${run} onChange=${reload} />`}`;
}

function CreateKey({ region, run, onCreated }: { region: RegionSession; run: Run; onCreated: (id: string) => void }) {
  const [spec, setSpec] = useState('AES_256');
  const submit = (e: Event) => {
    const v = formValues(e);
    const form = e.currentTarget as HTMLFormElement;
    void run(async () => {
      const body: Json = { key_alias: v.alias, key_spec: v.spec, key_usage: v.usage };
      if (v.description) body.key_description = v.description;
      const r = await kms(region, 'create-key', body);
      form.reset();
      setSpec('AES_256');
      onCreated(r.key_info.key_id);
      return `Created key ${v.alias} (${r.key_info.key_id}).`;
    });
  };
  return html`<section aria-labelledby="create-heading">
    <h2 id="create-heading">Create a key</h2>
    <form class="row" onSubmit=${submit} aria-label="Create a key">
      <label>Alias<input name="alias" required /></label>
      <label>Key spec<select name="spec" value=${spec} onChange=${(e: Event) => setSpec((e.target as HTMLSelectElement).value)}>
        ${Object.keys(SPECS).map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>Key usage<select name="usage" key=${spec}>${SPECS[spec]!.map((u) => html`<option value=${u}>${u}</option>`)}</select></label>
      <label>Description<input name="description" /></label>
      <button class="primary" type="submit">Create key</button>
    </form></section>`;
}

interface KeyProps extends Props {
  keyId: string;
  onChange: () => void;
}

/** Where a key is: per region of the session, PRIMARY, REPLICA, SINGLE, or absent. */
async function placesOf(session: Session, keyId: string): Promise<{ region: string; type: string; state: string }[]> {
  const out: { region: string; type: string; state: string }[] = [];
  for (const r of session.regions) {
    try {
      const k = (await kms(r, 'describe-key', { key_id: keyId })).key_info;
      out.push({ region: r.id, type: k.multi_region_key_type, state: k.key_state });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
  }
  return out;
}

function KeyPage({ session, region, keyId, run, onChange }: KeyProps) {
  const [key, setKey] = useState<Json | null>(null);
  const [tags, setTags] = useState<Json[]>([]);
  const [rotation, setRotation] = useState<Json | string | null>(null);
  const [places, setPlaces] = useState<{ region: string; type: string; state: string }[]>([]);
  const [targets, setTargets] = useState<string[]>([]);
  const [grants, setGrants] = useState<Json[]>([]);
  const [cipher, setCipher] = useState('');
  const [decrypted, setDecrypted] = useState<string | null>(null);
  // Every action reloads what the page shows before its message appears, so the message describes the page.
  const load = async () => {
    const k = (await kms(region, 'describe-key', { key_id: keyId })).key_info as Json;
    setTags(((await regionCall(region, 'GET', 'v1.0', `kms/${keyId}/tags`)).tags ?? []) as Json[]);
    try {
      setRotation(await kms(region, 'get-key-rotation-status', { key_id: keyId }));
    } catch (err) {
      setRotation(err instanceof ApiError ? err.toString() : 'unavailable');
    }
    setGrants(((await kms(region, 'list-grants', { key_id: keyId })).grants ?? []) as Json[]);
    setPlaces(await placesOf(session, keyId));
    setTargets(((await regionCall(region, 'GET', 'v2', 'kms/regions?limit=100')).regions ?? []) as string[]);
    setKey(k);
  };
  const refresh = async () => (await load(), onChange());

  useEffect(() => {
    void run(load);
  }, [keyId]);

  if (!key) return html`<section><p>Loading key…</p></section>`;
  const act = (op: string, body: Json, done: string) => () => run(async () => (await kms(region, op, { key_id: keyId, ...body }), await refresh(), done));
  const onForm = (f: (v: Record<string, string>, form: HTMLFormElement) => Promise<string>) => (e: Event) => {
    const v = formValues(e);
    const form = e.currentTarget as HTMLFormElement;
    void run(async () => {
      const text = await f(v, form);
      form.reset();
      await refresh();
      return text;
    });
  };
  const symmetric = key.key_spec === 'AES_256' || key.key_spec === 'SM4';
  const replicas = places.filter((p) => p.type === 'REPLICA').map((p) => p.region);
  const isPrimaryHere = key.multi_region_key_type !== 'REPLICA';

  return html`<section aria-labelledby="key-heading">
    <h2 id="key-heading">Key ${key.key_alias}</h2>
    <div class="columns"><div>
      <dl class="details" aria-label="Key details">
        <dt>Key ID</dt><dd class="mono">${key.key_id}</dd>
        <dt>State</dt><dd data-testid="key-state">${KEY_STATES[key.key_state] ?? key.key_state}</dd>
        <dt>Spec / usage</dt><dd>${key.key_spec} / ${key.key_usage}</dd>
        <dt>Description</dt><dd data-testid="key-description">${key.key_description}</dd>
        <dt>Created</dt><dd>${when(key.creation_date)}</dd>
        ${key.key_state === '4' && html`<dt>Deletion date</dt><dd>${when(key.scheduled_deletion_date)} (${key.pending_days} days)</dd>`}
        <dt>Region type</dt><dd>${key.multi_region_key_type}</dd>
        <dt>Regions</dt><dd data-testid="key-regions">${places.map((p) => `${p.region} (${p.type})`).join(', ')}</dd>
      </dl>
      <h3>State</h3>
      <div class="row">
        ${key.key_state === '3' && html`<button onClick=${act('enable-key', {}, 'Key enabled.')}>Enable key</button>`}
        ${key.key_state === '2' && html`<button onClick=${act('disable-key', {}, 'Key disabled.')}>Disable key</button>`}
        ${key.key_state === '4' && html`<button onClick=${act('cancel-key-deletion', {}, 'Deletion cancelled: the key is disabled.')}>Cancel deletion</button>`}
      </div>
      ${key.key_state !== '4' && html`<form class="row" aria-label="Schedule deletion" onSubmit=${onForm(async (v) => (await kms(region, 'schedule-key-deletion', { key_id: keyId, pending_days: v.days }), `Deletion scheduled in ${v.days} days.`))}>
        <label>Days before deletion<input name="days" type="number" min="7" max="1096" value="7" required /></label>
        <button type="submit">Schedule deletion</button>
      </form>`}
      <h3>Alias and description</h3>
      <form class="row" aria-label="Change alias" onSubmit=${onForm(async (v) => (await kms(region, 'update-key-alias', { key_id: keyId, key_alias: v.alias }), `Alias changed to ${v.alias}.`))}>
        <label>New alias<input name="alias" required /></label><button type="submit">Change alias</button>
      </form>
      <form class="row" aria-label="Change description" onSubmit=${onForm(async (v) => (await kms(region, 'update-key-description', { key_id: keyId, key_description: v.description }), 'Description changed.'))}>
        <label>New description<input name="description" /></label><button type="submit">Change description</button>
      </form>
      <h3>Tags</h3>
      <table aria-label="Tags"><tbody>${tags.map((t) => html`<tr><td>${t.key}</td><td>${t.value}</td>
        <td><button aria-label=${`Remove tag ${t.key}`} onClick=${() => run(async () => (await regionCall(region, 'DELETE', 'v1.0', `kms/${keyId}/tags/${encodeURIComponent(t.key)}`), await refresh(), `Tag ${t.key} removed.`))}>Remove</button></td></tr>`)}</tbody></table>
      <form class="row" aria-label="Add a tag" onSubmit=${onForm(async (v) => (await regionCall(region, 'POST', 'v1.0', `kms/${keyId}/tags`, { tag: { key: v.tagKey, value: v.tagValue } }), `Tag ${v.tagKey} set.`))}>
        <label>Tag key<input name="tagKey" required /></label><label>Tag value<input name="tagValue" /></label><button type="submit">Add tag</button>
      </form>
    </div><div>
      ${symmetric && html`<h3>Encrypt and decrypt</h3>
        <form aria-label="Encrypt" onSubmit=${(e: Event) => { const v = formValues(e); void run(async () => { const r = await kms(region, 'encrypt-data', { key_id: keyId, plain_text: v.plaintext }); setCipher(r.cipher_text); setDecrypted(null); return 'Encrypted.'; }); }}>
          <label>Plaintext<textarea name="plaintext" required maxlength="4096"></textarea></label>
          <button type="submit">Encrypt</button>
        </form>
        <form aria-label="Decrypt" onSubmit=${(e: Event) => { const v = formValues(e); void run(async () => { const r = await kms(region, 'decrypt-data', { cipher_text: v.ciphertext }); setDecrypted(r.plain_text); return 'Decrypted.'; }); }}>
          <label>Ciphertext<textarea name="ciphertext" required value=${cipher} onInput=${(e: Event) => setCipher((e.target as HTMLTextAreaElement).value)}></textarea></label>
          <button type="submit">Decrypt</button>
        </form>
        ${decrypted !== null && html`<p>Decrypted text: <output aria-label="Decrypted text">${decrypted}</output></p>`}`}
      <h3>Rotation</h3>
      ${typeof rotation === 'string' ? html`<p>${rotation}</p>` : rotation && html`
        <p data-testid="rotation-status">Rotation ${rotation.key_rotation_enabled ? 'enabled' : 'disabled'}, every ${rotation.rotation_interval} days; ${rotation.number_of_rotations} rotations${rotation.last_rotation_time ? `, last ${when(rotation.last_rotation_time)}` : ''}.</p>
        <div class="row">
          ${rotation.key_rotation_enabled
            ? html`<button onClick=${act('disable-key-rotation', {}, 'Rotation disabled.')}>Disable rotation</button>`
            : html`<button onClick=${act('enable-key-rotation', {}, 'Rotation enabled.')}>Enable rotation</button>`}
          <button onClick=${act('rotate-on-demand', {}, 'Key rotated.')}>Rotate now</button>
        </div>
        <form class="row" aria-label="Rotation interval" onSubmit=${onForm(async (v) => (await kms(region, 'update-key-rotation-interval', { key_id: keyId, rotation_interval: Number(v.interval) }), `Rotation interval set to ${v.interval} days.`))}>
          <label>Rotation interval (days)<input name="interval" type="number" min="30" max="365" required /></label><button type="submit">Set interval</button>
        </form>`}
      <h3>Replicas</h3>
      ${isPrimaryHere ? html`
        <form class="row" aria-label="Replicate" onSubmit=${onForm(async (v) => {
          const target = session.regions.find((r) => r.id === v.target);
          if (!target) throw new ApiError(0, 'CONSOLE', `You have no project in ${v.target}.`);
          await regionCall(region, 'POST', 'v2', `kms/keys/${keyId}/replicate`, { replica_region: v.target, key_alias: v.replicaAlias, replica_project_id: target.projectId });
          return `Replicated to ${v.target}.`;
        })}>
          <label>Replica region<select name="target" required>${targets.filter((t) => !places.some((p) => p.region === t)).map((t) => html`<option value=${t}>${t}</option>`)}</select></label>
          <label>Replica alias<input name="replicaAlias" required /></label>
          <button type="submit">Replicate</button>
        </form>
        ${replicas.length > 0 && html`<form class="row" aria-label="Move the primary" onSubmit=${onForm(async (v) => {
          await regionCall(region, 'PUT', 'v2', `kms/keys/${keyId}/update-primary-region`, { primary_region: v.primary });
          return `${v.primary} is now the primary region.`;
        })}>
          <label>New primary region<select name="primary" required>${replicas.map((t) => html`<option value=${t}>${t}</option>`)}</select></label>
          <button type="submit">Make primary</button>
        </form>`}`
      : html`<p>This is a replica: replicate and move the primary from the primary's region (${places.find((p) => p.type === 'PRIMARY')?.region ?? 'unknown'}).</p>`}
      <${AuditTrail} region=${region} keyId=${keyId} run=${run} />
      <h3>Grants</h3>
      <table aria-label="Grants"><thead><tr><th>Grantee</th><th>Operations</th><th></th></tr></thead><tbody>
        ${grants.map((g) => html`<tr><td class="mono">${g.grantee_principal}</td><td>${(g.operations as string[]).join(', ')}</td>
          <td><button aria-label=${`Revoke grant ${g.grant_id.slice(0, 8)}`} onClick=${() => run(async () => (await kms(region, 'revoke-grant', { key_id: keyId, grant_id: g.grant_id }), await refresh(), 'Grant revoked.'))}>Revoke</button></td></tr>`)}
      </tbody></table>
      <form aria-label="Create a grant" onSubmit=${onForm(async (v, form) => {
        const operations = GRANT_OPERATIONS.filter((o) => (form.elements.namedItem(`op-${o}`) as HTMLInputElement | null)?.checked);
        const r = await kms(region, 'create-grant', { key_id: keyId, grantee_principal: v.grantee, operations, ...(v.grantName ? { name: v.grantName } : {}) });
        return `Grant ${r.grant_id} created.`;
      })}>
        <div class="row"><label>Grantee user ID<input name="grantee" required /></label><label>Grant name<input name="grantName" /></label></div>
        <fieldset><legend>Operations</legend>${GRANT_OPERATIONS.map((o) => html`<label class="inline"><input type="checkbox" name=${`op-${o}`} />${o}</label>`)}</fieldset>
        <button type="submit">Create grant</button>
      </form>
    </div></div>
  </section>`;
}

/** Most records of a key's trail the console reads (100 a call). */
const TRAIL_CAP = 2000;

/**
 * A key's records in this region's audit trail (ListKeyAuditTrail, oldest first a page at a time): read whole up
 * to TRAIL_CAP records and shown newest first; reads (List…, Show…: the console's own among them) hidden unless
 * asked for.
 */
function AuditTrail({ region, keyId, run }: { region: RegionSession; keyId: string; run: Run }) {
  const [records, setRecords] = useState<Json[] | null>(null);
  const [capped, setCapped] = useState(false);
  const [reads, setReads] = useState(false);
  const load = () =>
    run(async () => {
      const all: Json[] = [];
      let marker = '';
      do {
        const r = await regionCall(region, 'GET', 'v2', `kms/keys/${keyId}/audit-trail?limit=100${marker ? `&marker=${marker}` : ''}`);
        all.push(...(r.records as Json[]));
        marker = r.next_marker;
      } while (marker && all.length < TRAIL_CAP);
      setCapped(marker !== '');
      setRecords(all.reverse());
    });
  const shown = (records ?? []).filter((r) => reads || !/^(List|Show)/.test(String(r.operation)));
  return html`<h3>Audit trail</h3>
    ${records === null
      ? html`<button onClick=${load}>Show audit trail</button>`
      : html`<div class="row"><label class="inline"><input type="checkbox" checked=${reads} onChange=${(e: Event) => setReads((e.target as HTMLInputElement).checked)} />Show reads too</label>
          <button onClick=${load}>Reload audit trail</button></div>
        ${capped && html`<p>The oldest ${TRAIL_CAP} records are shown: see <code>npx strongroom audit export --key-id</code> for the rest.</p>`}
        <table aria-label="Audit trail"><thead><tr><th>Time</th><th>Operation</th><th>Caller</th><th>Status</th></tr></thead><tbody>
          ${shown.map((r) => html`<tr><td>${r.time}</td><td>${r.operation}</td><td>${r.caller ? `${r.caller.user_name} (${r.caller.auth_method})` : r.peer ? `region ${r.peer}` : 'system'}</td>
            <td>${r.status}${r.error_code ? ` ${r.error_code}` : ''}</td></tr>`)}
        </tbody></table>`}`;
}
