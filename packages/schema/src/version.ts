/** The dfc release; kept equal to the packages' version by test/meta/version.test.ts. */
export const DFC_VERSION = '0.1.0';
