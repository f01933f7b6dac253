// Creating a session: @prependNode wraps the new session in a VerificationSessionEdge and puts it
// at the head of every connection whose ID is passed in $connections (the list is newest first).
import { graphql } from 'relay-runtime';

export const CreateSessionMutation = graphql`
  mutation CreateSessionMutation(
    $input: CreateVerificationSessionInput!
    $connections: [ID!]!
  ) {
    createVerificationSession(input: $input) {
      verificationSession
        @prependNode(connections: $connections, edgeTypeName: "VerificationSessionEdge") {
        id
        ...SessionRow_session
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;
