// The list of sessions: the root query, and the paginated fragment on Query whose @refetchable
// generates SessionsListPaginationQuery (the query that loads the next page with $count/$cursor).
import { graphql } from 'relay-runtime';

export const SessionsListQuery = graphql`
  query SessionsListQuery($count: Int, $cursor: String) {
    ...SessionsList_query @arguments(count: $count, cursor: $cursor)
  }
`;

export const SessionsList_query = graphql`
  fragment SessionsList_query on Query
  @argumentDefinitions(count: { type: "Int", defaultValue: 10 }, cursor: { type: "String" })
  @refetchable(queryName: "SessionsListPaginationQuery") {
    verificationSessions(first: $count, after: $cursor)
      @connection(key: "SessionsList_verificationSessions") {
      __id
      totalCount
      edges {
        cursor
        node {
          id
          ...SessionRow_session
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;
