"""shopdb's first-party plugins: one package per plugin, each rendered from copier-plugin/ (see
docs/PLUGIN-QUICKSTART.md) and extended in its author-owned files. The loader discovers plugins/<name>/."""
