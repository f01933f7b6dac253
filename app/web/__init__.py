"""HTTP surface: the GraphQL endpoint, the hosted verification page, health, request logging."""
