"""Pure domain rules: no database, no GraphQL, no I/O."""
