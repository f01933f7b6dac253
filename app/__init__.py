"""Identity gateway: Stripe-Identity-style VerificationSessions over GraphQL."""
