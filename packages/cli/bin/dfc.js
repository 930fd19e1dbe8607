#!/usr/bin/env node
// The `dfc` executable. It is a committed file (not build output) so that `npm install`
// can link and mark it executable before the packages are built; the command line
// itself is dist/bin.js.
import '../dist/bin.js';
