// Tests exercise the built package through its ESM entry, as users import it.
export * from '../dist/esm/index.mjs'
