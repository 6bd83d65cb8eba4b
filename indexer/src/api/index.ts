/**
 * The indexer's HTTP API: SQL over HTTP for `@ponder/client` (`/sql/*`, read-only) and GraphQL
 * (`/graphql`). Ponder itself serves `/status` (the block each chain is indexed to), `/ready`,
 * `/health` and `/metrics`.
 */
import { db } from "ponder:api";
import schema from "ponder:schema";
import { Hono } from "hono";
import { client, graphql } from "ponder";

const app = new Hono();
app.use("/sql/*", client({ db, schema }));
app.use("/graphql", graphql({ db, schema }));

export default app;
