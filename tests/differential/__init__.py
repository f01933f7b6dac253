"""Differential tests: the compiled execution path answers exactly as graphql-core does.

`GRAPHQL_EXECUTION` picks how `/graphql` runs a query: `compiled` (plans compiled once per
document, falling back to graphql-core for what they do not cover) or `reference` (graphql-core
through Strawberry only). The promise is that a client cannot tell them apart: for every request,
the same HTTP status, the same content type and the same JSON body once parsed (`data`, and
`errors` with their messages, locations, paths, extensions and order).

These tests prove it by running the gateway twice, one uvicorn server per mode over one database
(SQLite, and Postgres when TEST_DATABASE_URL is set), filled through the API with an account whose
sessions reach every type of the schema. Every request (hypothesis-graphql's generated queries,
and hand-written documents for what generators rarely write) goes to both servers with the same
body, key and headers, and the two answers are compared (`tests.differential.twins`); a mismatch
fails with a diff of the two.
"""
