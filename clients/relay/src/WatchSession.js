// Watching one session live: the subscription's payload spreads the row fragment, so every
// message the gateway sends updates the session's record, and every row showing it, in the store.
import { graphql } from 'relay-runtime';

export const WatchSessionSubscription = graphql`
  subscription WatchSessionSubscription($id: ID!) {
    verificationSession(id: $id) {
      id
      status
      ...SessionRow_session
    }
  }
`;
