/**
 * Policy tests for the blog: each request and the decision it must get, run by
 * `dfc test examples/blog` against the compiled policy (no server, no database).
 * Together they exercise every rule, every clause, every requirement and every role
 * access entry of dfc.config.ts (`dfc test` reports the coverage).
 */
import { definePolicyTest, definePolicyTests } from 'dfc';
import { adminApp, blog, docsApp, partnerApp, webApp } from './dfc.config.js';

// Sessions: the `id` claim names the user, the `role` claim the role (when the app lets it).
const alice = { id: 'alice', role: 'editor' };
const bob = { id: 'bob', role: 'editor' };
const dave = { id: 'dave', role: 'moderator' };
const carol = { id: 'carol', role: 'admin' };
/** A signed-in user whose role claim the app does not accept: the app's default role applies. */
const mallory = { id: 'mallory', role: 'user' };

const MODERATION = 'https://hooks.example.com/dfc/moderate';

const users = [
  { id: 'alice', email: { $encrypt: 'alice@example.com' }, name: { $encrypt: 'Alice' }, password: { $hash: 'alice-pw' }, role: 'user' },
  { id: 'bob', email: { $encrypt: 'bob@example.com' }, name: { $encrypt: 'Bob' }, password: { $hash: 'bob-pw' }, role: 'user' },
];

export default definePolicyTests([
  // -------------------------------------------------------------------------
  // posts: public read, signed-in create (author forced), owner update, staff delete

  definePolicyTest(blog, 'posts', {
    name: 'anyone reads posts without a session',
    request: { app: webApp, verb: 'GET' },
    expect: { decision: 'allow', role: 'reader', rule: 'rules.blog.posts.read', where: null },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'the partner feed reads posts with the reader role',
    request: { app: partnerApp, verb: 'GET', id: 1 },
    expect: { decision: 'allow', role: 'reader' },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'an editor sees only their own posts (role filter)',
    request: {
      app: webApp,
      claims: alice,
      verb: 'GET',
      rows: [
        { id: 1, userId: 'alice', title: 'mine', isPublic: true },
        { id: 2, userId: 'bob', title: 'theirs', isPublic: true },
      ],
    },
    expect: { decision: 'allow', role: 'editor', where: "userId = 'alice'", response: [{ id: 1, title: 'mine' }] },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'without a session, creating a post asks for one',
    request: { app: webApp, verb: 'POST', doc: { title: 'hello' } },
    expect: { decision: 'deny', status: 401, error: 'DFC_ERR_AUTH_REQUIRED' },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'the admin key alone reads like the public site: no post without an admin session',
    request: { app: adminApp, verb: 'POST', doc: { title: 'hello' } },
    expect: { decision: 'deny', status: 401, error: 'DFC_ERR_AUTH_REQUIRED', role: 'reader' },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'a new post is always written by the caller',
    request: { app: webApp, claims: alice, verb: 'POST', doc: { id: 7, title: 'hello', userId: 'bob' } },
    expect: { decision: 'allow', args: { doc: { id: 7, userId: 'alice', title: 'hello' } } },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'an editor updates their own post',
    request: { app: webApp, claims: alice, verb: 'PATCH', id: 1, find: { userId: 'alice' }, update: { $set: { title: 'new' } } },
    expect: { decision: 'allow', rule: 'owner', where: "userId = 'alice'" },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'an editor may not update a post of someone else',
    request: { app: webApp, claims: alice, verb: 'PATCH', find: { userId: 'bob' }, update: { $set: { title: 'mine now' } } },
    expect: { decision: 'deny', status: 403, error: 'DFC_ERR_RULE_DENIED', rule: 'owner', reason: '`args.auth.id` == `args.find.userId` does not hold' },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'a moderator deletes a post',
    request: { app: webApp, claims: dave, verb: 'DELETE', id: 2 },
    expect: { decision: 'allow', role: 'moderator', rule: 'staff' },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'an editor may not delete posts (the role grants no DELETE)',
    request: { app: webApp, claims: alice, verb: 'DELETE', id: 2 },
    expect: { decision: 'deny', status: 403, error: 'DFC_ERR_ACCESS_DENIED', role: 'editor' },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'through the admin key, a session whose role claim is not `admin` gets the reader role',
    request: { app: adminApp, claims: mallory, verb: 'DELETE', id: 2 },
    expect: { decision: 'deny', status: 403, error: 'DFC_ERR_ACCESS_DENIED', role: 'reader' },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'an admin session deletes a post',
    request: { app: adminApp, claims: carol, verb: 'DELETE', id: 2 },
    expect: { decision: 'allow', role: 'admin', rule: 'staff' },
  }),

  // -------------------------------------------------------------------------
  // comments: public read, moderated create (webhook), owner update, code-rule delete

  definePolicyTest(blog, 'comments', {
    name: 'anyone reads comments',
    request: { app: webApp, claims: mallory, verb: 'GET' },
    expect: { decision: 'allow', role: 'reader' },
  }),
  definePolicyTest(blog, 'comments', {
    name: 'a comment the moderation service accepts is created, by the caller',
    request: {
      app: webApp,
      claims: alice,
      verb: 'POST',
      doc: { postId: 1, body: 'nice', userId: 'bob' },
      webhooks: { [MODERATION]: { status: 200, body: { ok: true } } },
    },
    expect: { decision: 'allow', args: { doc: { userId: 'alice', body: 'nice' } } },
  }),
  definePolicyTest(blog, 'comments', {
    name: 'a comment the moderation service refuses is denied',
    request: {
      app: webApp,
      claims: alice,
      verb: 'POST',
      doc: { postId: 1, body: 'spam' },
      webhooks: { [MODERATION]: { status: 422, body: { ok: false } } },
    },
    expect: { decision: 'deny', status: 403, rule: 'moderation', reason: 'refused the request' },
  }),
  definePolicyTest(blog, 'comments', {
    name: 'an author edits their comment',
    request: { app: webApp, claims: bob, verb: 'PATCH', find: { userId: 'bob' }, update: { $set: { body: 'edited' } } },
    expect: { decision: 'allow', rule: 'rules.blog.comments.update' },
  }),
  definePolicyTest(blog, 'comments', {
    name: "nobody edits someone else's comment",
    request: { app: webApp, claims: bob, verb: 'PATCH', find: { userId: 'alice' }, update: { $set: { body: 'edited' } } },
    expect: { decision: 'deny', rule: 'owner' },
  }),
  definePolicyTest(blog, 'comments', {
    name: 'a moderator deletes any comment (code rule)',
    request: { app: webApp, claims: dave, verb: 'DELETE', find: { userId: 'alice' } },
    expect: { decision: 'allow', rule: 'moderatorOrAuthor' },
  }),
  definePolicyTest(blog, 'comments', {
    name: "an editor may not delete someone else's comment (code rule)",
    request: { app: webApp, claims: bob, verb: 'DELETE', find: { userId: 'alice' } },
    expect: { decision: 'deny', status: 403, rule: 'moderatorOrAuthor', reason: 'the code rule denied the request' },
  }),

  // -------------------------------------------------------------------------
  // bookmarks: every query forced to the caller's rows; no update rule (the `default` one denies)

  definePolicyTest(blog, 'bookmarks', {
    name: 'a caller lists only their own bookmarks, whatever they ask for',
    request: {
      app: webApp,
      claims: alice,
      verb: 'GET',
      find: { userId: 'bob' },
      rows: [
        { id: 1, userId: 'alice', postId: 1 },
        { id: 2, userId: 'bob', postId: 1 },
      ],
    },
    // The rule forces `userId` to the caller, replacing what was asked: bob's rows stay
    // out of reach (the role's filter and the forced condition say the same thing, once).
    expect: { decision: 'allow', args: { find: { userId: 'alice' } }, where: "userId = 'alice'", response: [] },
  }),
  definePolicyTest(blog, 'bookmarks', {
    name: 'a moderator reads bookmarks through `_table/*`, their own only',
    request: { app: webApp, claims: dave, verb: 'GET', rows: [{ id: 3, userId: 'dave', postId: 2 }, { id: 4, userId: 'alice', postId: 2 }] },
    expect: { decision: 'allow', role: 'moderator', where: "userId = 'dave'", response: [{ id: 3 }] },
  }),
  definePolicyTest(blog, 'bookmarks', {
    name: 'a bookmark is created for the caller',
    request: { app: webApp, claims: alice, verb: 'POST', doc: { postId: 1, userId: 'bob' } },
    expect: { decision: 'allow', args: { doc: { userId: 'alice', postId: 1 } } },
  }),
  definePolicyTest(blog, 'bookmarks', {
    name: 'a caller deletes only their own bookmarks',
    request: { app: webApp, claims: alice, verb: 'DELETE', id: 2 },
    expect: { decision: 'allow', args: { find: { id: 2, userId: 'alice' } }, where: "userId = 'alice'" },
  }),
  definePolicyTest(blog, 'bookmarks', {
    name: 'bookmarks are never updated, not even by an admin (the default rule)',
    request: { app: adminApp, claims: carol, verb: 'PATCH', id: 1, update: { $set: { postId: 2 } } },
    expect: { decision: 'deny', status: 403, rule: 'rules.blog.default.update', reason: 'the operation is denied' },
  }),

  // -------------------------------------------------------------------------
  // profiles: public, or visible to followers (the Instagram problem)

  definePolicyTest(blog, 'profiles', {
    name: 'a public profile is visible to any signed-in user',
    request: {
      app: webApp,
      claims: mallory,
      verb: 'GET',
      id: 'bob',
      data: { profiles: [{ userId: 'bob', isPublic: true, followers: [] }] },
    },
    expect: { decision: 'allow', rule: 'public' },
  }),
  definePolicyTest(blog, 'profiles', {
    name: 'a private profile is visible to its followers',
    request: {
      app: webApp,
      claims: alice,
      verb: 'GET',
      id: 'bob',
      data: { profiles: [{ userId: 'bob', isPublic: false, followers: ['alice'] }] },
    },
    expect: { decision: 'allow', rule: 'follower' },
  }),
  definePolicyTest(blog, 'profiles', {
    name: 'a private profile is hidden from everyone else',
    request: {
      app: webApp,
      claims: mallory,
      verb: 'GET',
      id: 'bob',
      data: { profiles: [{ userId: 'bob', isPublic: false, followers: ['alice'] }] },
    },
    expect: { decision: 'deny', status: 403, rule: 'follower', reason: 'found no rows' },
  }),
  definePolicyTest(blog, 'profiles', {
    name: 'profiles need a session (the service requirement)',
    request: { app: webApp, verb: 'GET', id: 'bob' },
    expect: { decision: 'deny', status: 401, error: 'DFC_ERR_AUTH_REQUIRED', failed: ['authenticated', 'signedIn'] },
  }),
  definePolicyTest(blog, 'profiles', {
    name: 'a profile is created for the caller',
    request: { app: webApp, claims: alice, verb: 'POST', doc: { userId: 'bob', isPublic: true, followers: [] } },
    expect: { decision: 'allow', args: { doc: { userId: 'alice' } } },
  }),
  definePolicyTest(blog, 'profiles', {
    name: 'an owner updates their profile; nobody else does',
    request: { app: webApp, claims: alice, verb: 'PATCH', id: 'alice', update: { $set: { bio: 'hi' } } },
    expect: { decision: 'allow', rule: 'owner' },
  }),
  definePolicyTest(blog, 'profiles', {
    name: "an editor may not update someone else's profile",
    request: { app: webApp, claims: alice, verb: 'PATCH', id: 'bob', update: { $set: { bio: 'hi' } } },
    expect: { decision: 'deny', rule: 'owner' },
  }),
  definePolicyTest(blog, 'profiles', {
    name: 'profiles are never deleted',
    request: { app: adminApp, claims: carol, verb: 'DELETE', id: 'bob' },
    expect: { decision: 'deny', status: 403, rule: 'rules.blog.profiles.delete' },
  }),

  // -------------------------------------------------------------------------
  // users: sign-up with forced id and role, encrypted email and name, hashed password;
  // passwords removed from reads for non-admins; decrypted for the owner only

  definePolicyTest(blog, 'users', {
    name: 'sign-up: own id, role `user`, email and name encrypted, password hashed',
    request: { app: webApp, claims: alice, verb: 'POST', doc: { id: 'someone', email: 'alice@example.com', name: 'Alice', password: 'pw' } },
    expect: {
      decision: 'allow',
      args: { doc: { id: 'alice', role: 'user', email: { $encrypt: 'alice@example.com' }, name: { $encrypt: 'Alice' }, password: { $hash: 'pw' } } },
    },
  }),
  definePolicyTest(blog, 'users', {
    name: 'an admin creates a user with another role',
    request: { app: adminApp, claims: carol, verb: 'POST', doc: { id: 'dave', email: 'dave@example.com', name: 'Dave', password: 'pw', role: 'moderator' } },
    expect: { decision: 'allow', args: { doc: { id: 'carol', role: 'moderator' } } },
  }),
  definePolicyTest(blog, 'users', {
    name: 'only admins write the role field (field requirement)',
    request: { app: webApp, claims: alice, verb: 'POST', doc: { email: 'a@example.com', name: 'A', password: 'pw', role: 'admin' } },
    expect: { decision: 'deny', status: 403, error: 'DFC_ERR_REQUIREMENT_FAILED', failed: ['adminsOnly'] },
  }),
  definePolicyTest(blog, 'users', {
    name: 'a user reads their own record: email and name decrypted, password removed',
    request: { app: webApp, claims: alice, verb: 'GET', id: 'alice', rows: users },
    expect: { decision: 'allow', response: [{ id: 'alice', email: 'alice@example.com', name: 'Alice', password: undefined, role: 'user' }] },
  }),
  definePolicyTest(blog, 'users', {
    name: 'a list of users stays encrypted and has no passwords',
    request: { app: webApp, claims: alice, verb: 'GET', rows: users },
    expect: {
      decision: 'allow',
      response: [
        { id: 'alice', email: { $encrypt: 'alice@example.com' }, password: undefined },
        { id: 'bob', email: { $encrypt: 'bob@example.com' }, password: undefined },
      ],
    },
  }),
  definePolicyTest(blog, 'users', {
    name: "another user's record stays encrypted",
    request: { app: webApp, claims: bob, verb: 'GET', id: 'alice', rows: users },
    expect: { decision: 'allow', response: [{ id: 'alice', name: { $encrypt: 'Alice' }, password: undefined }] },
  }),
  definePolicyTest(blog, 'users', {
    name: 'admins see passwords (as stored: hashed)',
    request: { app: adminApp, claims: carol, verb: 'GET', id: 'bob', rows: users },
    expect: { decision: 'allow', response: [{ id: 'bob', password: { $hash: 'bob-pw' } }] },
  }),
  definePolicyTest(blog, 'users', {
    name: 'users are not public: a caller without a session is asked for one',
    request: { app: webApp, verb: 'GET' },
    expect: { decision: 'deny', status: 401, error: 'DFC_ERR_AUTH_REQUIRED', role: 'reader' },
  }),
  definePolicyTest(blog, 'users', {
    name: 'a user updates their name and password: encrypted and hashed',
    request: { app: webApp, claims: alice, verb: 'PATCH', id: 'alice', update: { $set: { name: 'Alice B', password: 'new-pw' } } },
    expect: { decision: 'allow', args: { update: { $set: { name: { $encrypt: 'Alice B' }, password: { $hash: 'new-pw' } } } } },
  }),
  definePolicyTest(blog, 'users', {
    name: 'a user updates their email: encrypted',
    request: { app: webApp, claims: alice, verb: 'PATCH', id: 'alice', update: { $set: { email: 'new@example.com' } } },
    expect: { decision: 'allow', args: { update: { $set: { email: { $encrypt: 'new@example.com' } } } } },
  }),
  definePolicyTest(blog, 'users', {
    name: 'an admin updates another user; the role is not changed by an update',
    request: { app: adminApp, claims: carol, verb: 'PATCH', id: 'bob', update: { $set: { role: 'admin', name: 'Bob' } } },
    expect: { decision: 'allow', args: { update: { $set: { role: undefined } } } },
  }),
  definePolicyTest(blog, 'users', {
    name: 'nobody else updates a user',
    request: { app: webApp, claims: bob, verb: 'PATCH', id: 'alice', update: { $set: { name: 'Mallory' } } },
    expect: { decision: 'deny', status: 403, rule: 'rules.blog.users.update' },
  }),
  definePolicyTest(blog, 'users', {
    name: 'an admin deletes a user',
    request: { app: adminApp, claims: carol, verb: 'DELETE', id: 'bob' },
    expect: { decision: 'allow', rule: 'rules.blog.users.delete' },
  }),
  definePolicyTest(blog, 'users', {
    name: 'a moderator reads users but may not delete them (`_table/*` grants GET only)',
    request: { app: webApp, claims: dave, verb: 'DELETE', id: 'bob' },
    expect: { decision: 'deny', status: 403, error: 'DFC_ERR_ACCESS_DENIED', role: 'moderator' },
  }),

  // -------------------------------------------------------------------------
  // the documentation role: the OpenAPI description, no data

  definePolicyTest(blog, '_doc', {
    name: 'the docs app reads the OpenAPI description',
    request: { app: docsApp, claims: bob },
    expect: { decision: 'allow', role: 'docs' },
  }),
  definePolicyTest(blog, '_doc', {
    name: 'the OpenAPI description needs a session too (the service requirement)',
    request: { app: docsApp },
    expect: { decision: 'deny', status: 401, failed: ['authenticated', 'signedIn'] },
  }),
  definePolicyTest(blog, 'posts', {
    name: 'the docs app reads no data',
    request: { app: docsApp, claims: bob, verb: 'GET' },
    expect: { decision: 'deny', status: 403, error: 'DFC_ERR_ACCESS_DENIED', role: 'docs' },
  }),
]);
