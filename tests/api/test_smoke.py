from tests.conftest import Api


def test_created_session_is_listed(api: Api, create_session) -> None:
    # given
    session = create_session(clientReferenceId="ref-1")
    # when
    data = api.gql("{ verificationSessions { nodes { id clientReferenceId } totalCount } }")
    # then
    assert data["verificationSessions"]["nodes"] == [
        {"id": session["id"], "clientReferenceId": "ref-1"}
    ]
    assert data["verificationSessions"]["totalCount"] == 1
