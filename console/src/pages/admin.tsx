// Admin: `profiles` (list and create) and `grants` (list and create). The API decides; the console
// shows what it answered, code and message included.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { asError, ErrorNotice, Show, Time, useLoad } from '../ui.js';

interface Profile {
  readonly name: string;
  readonly roleArn: string;
  readonly description?: string;
  readonly maxSessionSeconds: number;
}

interface Grant {
  readonly id: string;
  readonly profile: string;
  readonly subject: { readonly type: string; readonly id: string };
  readonly validUntil: string;
  readonly status?: string;
  readonly createdBy?: string;
}

function useSubmit(reload: () => void) {
  const [failure, setFailure] = useState<Error | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const submit = (send: (form: FormData) => Promise<unknown>, said: (form: FormData) => string) => (event: Event) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    setFailure(undefined);
    setDone(undefined);
    send(form).then(
      () => {
        setDone(said(form));
        formElement.reset();
        reload();
      },
      (error: unknown) => setFailure(asError(error)),
    );
  };
  const notices = (
    <>
      {done && <p role="status">{done}</p>}
      {failure && <ErrorNotice error={failure} />}
    </>
  );
  return { submit, notices };
}

export function ProfilesPage() {
  const [profiles, reload] = useLoad(() => api<{ profiles: Profile[] }>('/profiles'), []);
  const { submit, notices } = useSubmit(reload);
  return (
    <section aria-labelledby="profiles-title">
      <h1 id="profiles-title">Profiles</h1>
      <h2>Create or replace a profile</h2>
      {notices}
      <form
        onSubmit={submit(
          (form) =>
            api(`/profiles/${encodeURIComponent(String(form.get('name') ?? ''))}`, {
              method: 'PUT',
              body: {
                roleArn: String(form.get('roleArn') ?? ''),
                maxSessionSeconds: Number(form.get('maxSessionSeconds') ?? 3600),
                ...(form.get('description') ? { description: String(form.get('description')) } : {}),
              },
            }),
          (form) => `Profile ${String(form.get('name'))} saved.`,
        )}
      >
        <label>
          Name
          <input name="name" required pattern="[A-Za-z0-9._\-]+" />
        </label>
        <label>
          Role ARN
          <input name="roleArn" required placeholder="arn:aws:iam::123456789012:role/tvm-…" />
        </label>
        <label>
          Description
          <input name="description" />
        </label>
        <label>
          Longest session (seconds)
          <input name="maxSessionSeconds" type="number" min={900} max={43200} defaultValue="3600" />
        </label>
        <button type="submit" class="primary">
          Save profile
        </button>
      </form>
      <Show loaded={profiles}>
        {(value) => (
          <table>
            <caption>Profiles ({value.profiles.length})</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Longest session</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {value.profiles.map((profile) => (
                <tr key={profile.name}>
                  <th scope="row">{profile.name}</th>
                  <td>{profile.roleArn}</td>
                  <td>{Math.round(profile.maxSessionSeconds / 60)} min</td>
                  <td>{profile.description ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </section>
  );
}

export function GrantsPage() {
  const [grants, reload] = useLoad(() => api<{ grants: Grant[] }>('/grants'), []);
  const { submit, notices } = useSubmit(reload);
  return (
    <section aria-labelledby="grants-title">
      <h1 id="grants-title">Grants</h1>
      <h2>Grant a profile</h2>
      {notices}
      <form
        onSubmit={submit(
          (form) =>
            api('/grants', {
              method: 'POST',
              body: {
                profile: String(form.get('profile') ?? ''),
                subject: { type: String(form.get('subjectType') ?? 'user'), id: String(form.get('subjectId') ?? '') },
                validUntil: new Date(String(form.get('validUntil') ?? '')).toISOString(),
              },
            }),
          (form) => `Granted ${String(form.get('profile'))} to ${String(form.get('subjectId'))}.`,
        )}
      >
        <label>
          Profile
          <input name="profile" required />
        </label>
        <label>
          Subject type
          <select name="subjectType">
            <option value="user">User</option>
            <option value="group">Group</option>
          </select>
        </label>
        <label>
          Subject
          <input name="subjectId" required />
        </label>
        <label>
          Valid until (your local time)
          <input name="validUntil" type="datetime-local" required />
        </label>
        <button type="submit" class="primary">
          Create grant
        </button>
      </form>
      <Show loaded={grants}>
        {(value) => (
          <table>
            <caption>Grants ({value.grants.length})</caption>
            <thead>
              <tr>
                <th scope="col">Profile</th>
                <th scope="col">Subject</th>
                <th scope="col">Valid until</th>
                <th scope="col">Status</th>
                <th scope="col">Created by</th>
              </tr>
            </thead>
            <tbody>
              {value.grants.map((grant) => (
                <tr key={grant.id}>
                  <th scope="row">{grant.profile}</th>
                  <td>
                    {grant.subject.type} {grant.subject.id}
                  </td>
                  <td>
                    <Time iso={grant.validUntil} />
                  </td>
                  <td>{grant.status ?? 'active'}</td>
                  <td>{grant.createdBy ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </section>
  );
}
