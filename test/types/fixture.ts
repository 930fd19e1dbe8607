import { defineService } from 'dfc';

/** A service for the type tests (independent of examples/blog, which may change). */
export const shop = defineService({
  name: 'shop',
  database: { type: 'sqlite', file: './shop.db' },
  tables: {
    posts: {
      columns: {
        id: 'integer',
        userId: 'string',
        title: 'string',
        isPublic: 'bool',
        createdAt: 'date',
        score: 'number',
        tags: { type: 'json', nullable: true },
      },
      primaryKey: 'id',
    },
    users: {
      columns: { id: 'string', email: 'string', password: 'string', role: 'string', age: 'integer' },
      primaryKey: 'id',
    },
  },
});

export type Shop = typeof shop;
