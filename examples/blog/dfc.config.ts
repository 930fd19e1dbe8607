/**
 * The blog example: every case from the seed documents in one config.
 * README.md in this directory explains each block; `dfc serve examples/blog` runs it.
 */
import { defineApp, defineConfig, defineCors, defineRole, defineRule, defineService, secret } from 'dfc';

// ---------------------------------------------------------------------------
// The service: one SQLite database, created and seeded by `dfc serve`.

export const blog = defineService({
  name: 'blog',
  description: 'A small blog: posts, comments, bookmarks, public or private profiles, users',
  database: { type: 'sqlite', file: './blog.db', seed: './seed.json' },
  tables: {
    posts: {
      description: 'Blog posts; anyone may read them, signed-in users write their own',
      columns: {
        id: 'integer',
        userId: { type: 'string', description: 'The author (owner) of the post' },
        title: 'string',
        body: 'string',
        isPublic: 'bool',
        createdAt: 'date',
      },
      primaryKey: 'id',
      // Aptify route level: this table is open to callers without a session.
      security: { anyone: { type: 'allowAnonymous' } },
    },
    comments: {
      description: 'Comments on posts; new comments go through a moderation webhook',
      columns: { id: 'integer', postId: 'integer', userId: 'string', body: 'string', createdAt: 'date' },
      primaryKey: 'id',
    },
    bookmarks: {
      description: 'Private per-user bookmarks: every query is forced to the caller’s own rows',
      columns: { id: 'integer', userId: 'string', postId: 'integer', createdAt: 'date' },
      primaryKey: 'id',
    },
    profiles: {
      description: 'Public or private profiles (the Instagram problem)',
      columns: {
        userId: 'string',
        isPublic: 'bool',
        followers: { type: 'json', description: 'Ids of the users who follow this profile' },
        bio: { type: 'string', nullable: true },
      },
      primaryKey: 'userId',
    },
    users: {
      description: 'Accounts; email and name are stored encrypted, the password hashed',
      columns: {
        id: 'string',
        email: 'string',
        name: 'string',
        password: 'string',
        // Aptify input-field level: only admins may write a user's role.
        role: { type: 'string', security: { adminsOnly: { type: 'role', roles: ['admin'] } } },
      },
      primaryKey: 'id',
    },
  },
  // Aptify endpoint level: every call to this service needs a session unless a
  // table's own collection allows anonymous callers (see `posts`).
  security: { signedIn: { type: 'authenticated' } },
  maxRecords: 500,
});

// ---------------------------------------------------------------------------
// Data rules (Space Cloud rule JSON, typed against each table's columns).

export const postRules = defineRule(blog, 'posts', {
  // Public read: no sign-in needed.
  read: { rule: 'allow' },
  // Sign in to create; the author is always the caller, whatever the body says.
  create: {
    rule: 'and',
    clauses: [
      { rule: 'authenticated' },
      { rule: 'force', field: 'args.doc.userId', value: 'args.auth.id' },
    ],
  },
  // Owner-only update.
  update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' },
  // Admins and moderators delete.
  delete: {
    rule: 'match',
    eval: 'in',
    type: 'string',
    f1: 'args.auth.role',
    f2: ['admin', 'moderator'],
    name: 'staff',
    error: 'only admins and moderators may delete posts',
  },
});

export const commentRules = defineRule(blog, 'comments', {
  read: { rule: 'allow' },
  // New comments are checked by a moderation service before they are stored.
  create: {
    rule: 'and',
    clauses: [
      { rule: 'authenticated' },
      { rule: 'force', field: 'args.doc.userId', value: 'args.auth.id' },
      { rule: 'webhook', url: 'https://hooks.example.com/dfc/moderate', timeout: 2000, name: 'moderation' },
    ],
  },
  update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' },
  // Custom logic in TypeScript: moderators delete any comment, authors their own.
  delete: {
    rule: 'code',
    name: 'moderatorOrAuthor',
    fn: ({ auth, find }) => auth?.role === 'moderator' || (typeof auth?.id === 'string' && auth.id === find?.userId),
  },
});

export const bookmarkRules = defineRule(blog, 'bookmarks', {
  // Forced owner filter: whatever the client asks for, only its own rows match.
  read: { rule: 'force', field: 'args.find.userId', value: 'args.auth.id' },
  create: { rule: 'force', field: 'args.doc.userId', value: 'args.auth.id' },
  delete: { rule: 'force', field: 'args.find.userId', value: 'args.auth.id' },
});

export const profileRules = defineRule(blog, 'profiles', {
  // The Instagram problem: read a profile if it is public or the caller follows it.
  read: {
    rule: 'or',
    clauses: [
      {
        rule: 'query',
        name: 'public',
        db: 'blog',
        col: 'profiles',
        find: { userId: 'args.find.userId', isPublic: true },
        clause: { rule: 'match', eval: '==', type: 'number', f1: 'utils.length(args.result)', f2: 1 },
      },
      {
        rule: 'query',
        name: 'follower',
        db: 'blog',
        col: 'profiles',
        find: { userId: 'args.find.userId', followers: { $in: 'args.auth.id' } },
      },
    ],
  },
  create: { rule: 'force', field: 'args.doc.userId', value: 'args.auth.id' },
  update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' },
  delete: { rule: 'deny' },
});

/** A clause that holds when the caller is an admin. */
const isAdmin = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.role', f2: 'admin' } as const;

export const userRules = defineRule(blog, 'users', {
  // Sign-up for a signed-in identity: its own id, role `user`, email and name
  // encrypted, password hashed before the row is stored.
  create: {
    rule: 'and',
    clauses: [
      { rule: 'authenticated' },
      { rule: 'force', field: 'args.doc.id', value: 'args.auth.id' },
      { rule: 'force', field: 'args.doc.role', value: 'user', clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' } },
      { rule: 'encrypt', fields: ['args.doc.email', 'args.doc.name'] },
      { rule: 'hash', fields: ['args.doc.password'] },
    ],
  },
  read: {
    rule: 'and',
    clauses: [
      { rule: 'authenticated' },
      // Passwords never leave the service for non-admins. (The seed's version of
      // this rule says `type: 'bool'`, which never matches a role: see README.)
      {
        rule: 'remove',
        fields: ['res.password'],
        clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' },
      },
      // Email and name are decrypted only for the user reading their own record. A
      // list read has no `args.find.id`: the first clause keeps the second from failing
      // on the missing variable (which would deny the read), so lists stay encrypted.
      {
        rule: 'decrypt',
        fields: ['res.email', 'res.name'],
        clause: {
          rule: 'and',
          clauses: [
            { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.find.id)', f2: true },
            { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.id' },
          ],
        },
      },
    ],
  },
  update: {
    rule: 'and',
    clauses: [
      { rule: 'or', clauses: [{ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.id' }, isAdmin] },
      // Nobody changes a role through an update.
      { rule: 'remove', fields: ['args.update.$set.role'] },
      {
        rule: 'encrypt',
        fields: ['args.update.$set.email'],
        clause: { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.update.$set.email)', f2: true },
      },
      {
        rule: 'encrypt',
        fields: ['args.update.$set.name'],
        clause: { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.update.$set.name)', f2: true },
      },
      {
        rule: 'hash',
        fields: ['args.update.$set.password'],
        clause: { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.update.$set.password)', f2: true },
      },
    ],
  },
  delete: isAdmin,
});

// Space Cloud's fallback table: an operation a table has no rule for uses this one.
// Only `bookmarks` lacks one (`update`): bookmarks are never changed, only created and
// deleted. (A `default` rule for an operation every table covers would never be used.)
export const defaultRules = defineRule(blog, 'default', {
  update: { rule: 'deny' },
});

// ---------------------------------------------------------------------------
// Roles (DreamFactory): which verbs on which parts of the service.

/** What anonymous visitors get through the web app: read posts, comments, profiles. */
export const reader = defineRole({
  name: 'reader',
  description: 'Read-only access to the public tables',
  access: [
    { service: blog, component: '_table/posts', verbs: ['GET'] },
    { service: blog, component: '_table/comments', verbs: ['GET'] },
    { service: blog, component: '_table/profiles', verbs: ['GET'] },
  ],
});

/** Signed-in writers: their own posts (role filter on `{user.id}`), comments, bookmarks, profile. */
export const editor = defineRole({
  name: 'editor',
  description: 'Writes posts and comments; sees and changes only their own posts through this role',
  access: [
    {
      service: blog,
      component: '_table/posts',
      verbs: ['GET', 'POST', 'PATCH'],
      filters: [{ name: 'userId', operator: '=', value: '{user.id}' }],
      filterOp: 'AND',
    },
    { service: blog, component: '_table/comments', verbs: ['GET', 'POST', 'PATCH', 'DELETE'] },
    {
      service: blog,
      component: '_table/bookmarks',
      verbs: ['GET', 'POST', 'DELETE'],
      filters: [{ name: 'userId', operator: '=', value: '{user.id}' }],
    },
    { service: blog, component: '_table/profiles', verbs: ['GET', 'POST', 'PATCH'] },
    { service: blog, component: '_table/users', verbs: ['GET', 'POST', 'PATCH'] },
  ],
});

/** Moderators read everything and delete posts and comments. */
export const moderator = defineRole({
  name: 'moderator',
  access: [
    { service: blog, component: '_table/*', verbs: ['GET'] },
    { service: blog, component: '_table/posts', verbs: ['GET', 'DELETE'] },
    { service: blog, component: '_table/comments', verbs: ['GET', 'DELETE'] },
  ],
});

/** Everything on every service. */
export const admin = defineRole({
  name: 'admin',
  access: [{ service: '*', component: '*', verbs: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] }],
});

/** Documentation only: the OpenAPI description, no data. */
export const docs = defineRole({
  name: 'docs',
  description: 'Team members who need the API documentation and nothing else',
  access: [{ service: blog, component: '_doc', verbs: ['GET'] }],
});

// ---------------------------------------------------------------------------
// Apps: one API key per role, never a blanket key.

export const webApp = defineApp({
  name: 'web',
  description: 'The public web front end; signed-in users may act as editors or moderators',
  apiKey: secret('BLOG_WEB_KEY'),
  role: reader,
  roles: [editor, moderator],
});

export const adminApp = defineApp({
  name: 'admin',
  description: 'Back-office tools: the key alone reads like the public site; an admin session gets `admin`',
  apiKey: secret('BLOG_ADMIN_KEY'),
  // Not `role: admin`: a key that alone grants everything is a blanket key (DFC4043).
  role: reader,
  roles: [admin],
});

export const docsApp = defineApp({
  name: 'docs',
  description: 'The documentation portal',
  apiKey: secret('BLOG_DOCS_KEY'),
  role: 'docs',
});

export const partnerApp = defineApp({
  name: 'partner',
  description: 'A partner feed; only the SHA-256 of its key is stored (README gives the development key)',
  apiKey: { sha256: '4ef02a58e28326c5d161d77f1997a4e7c1a14a170e5176316657334ce70c05ba' },
  role: reader,
});

// ---------------------------------------------------------------------------
// CORS (DreamFactory's fields).

export const corsBlog = defineCors({
  path: '/api/v2/blog/*',
  description: 'The blog front ends',
  origins: ['https://blog.example.com', 'http://localhost:5173'],
  methods: ['GET', 'POST', 'PATCH', 'DELETE'],
  headers: ['Content-Type', 'Authorization', 'X-Api-Key'],
  exposedHeaders: ['X-Request-Id'],
  maxAge: 600,
  supportsCredentials: true,
  enabled: true,
});

export const corsDocs = defineCors({
  path: '/api/v2/blog/_doc',
  description: 'The documentation portal reads the OpenAPI description with its key and a session token, no cookies',
  origins: ['https://docs.example.com'],
  methods: ['GET'],
  headers: ['X-Api-Key', 'Authorization'],
  maxAge: 3600,
  supportsCredentials: false,
  enabled: true,
});

export const corsStaging = defineCors({
  path: '/api/v2/*',
  description: 'The staging site, switched off until it launches',
  origins: ['https://staging.blog.example.com'],
  methods: ['GET'],
  enabled: false,
});

// ---------------------------------------------------------------------------

export default defineConfig({
  services: [blog],
  rules: [postRules, commentRules, bookmarkRules, profileRules, userRules, defaultRules],
  roles: [reader, editor, moderator, admin, docs],
  apps: [webApp, adminApp, docsApp, partnerApp],
  cors: [corsBlog, corsDocs, corsStaging],
  auth: {
    jwt: {
      secret: secret('BLOG_JWT_SECRET'),
      algorithms: ['HS256'],
      issuer: 'https://id.blog.example.com',
      audience: 'blog',
      roleClaim: 'role',
    },
  },
  crypto: { key: secret('BLOG_FIELD_KEY') },
  admin: { token: secret('BLOG_ADMIN_TOKEN') },
});
