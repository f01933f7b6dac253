// One session as a row of the list. @refetchable on a type implementing Node makes the compiler
// generate SessionRowRefetchQuery, which reads the session back through `node(id:)`.
import { graphql } from 'relay-runtime';

export const SessionRow_session = graphql`
  fragment SessionRow_session on VerificationSession
  @refetchable(queryName: "SessionRowRefetchQuery") {
    id
    status
    type
    created
    clientReferenceId
    metadata
  }
`;
