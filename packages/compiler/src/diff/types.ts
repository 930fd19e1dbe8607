/** How a change moves access: more callers/rows/fields/origins, fewer, or neither. */
export type ChangeClass = 'broadens' | 'narrows' | 'neutral';

export type ChangeArea = 'role' | 'app' | 'rule' | 'requirement' | 'cors' | 'auth' | 'service' | 'settings';

export interface PolicyChange {
  class: ChangeClass;
  area: ChangeArea;
  /** What changed, e.g. "role `editor`". */
  subject: string;
  /** How it changed, e.g. "gains DELETE on `blog/_table/posts`". */
  message: string;
  /** Set when the class is a conservative guess rather than a proof. */
  uncertain?: boolean;
}

export interface PolicyDiff {
  changes: PolicyChange[];
  summary: Record<ChangeClass, number>;
}
