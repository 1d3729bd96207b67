"""The OpenAPI links the fuzzer adds: on every response it names, shared responses left alone."""

from xbanku_check.fuzz import links, with_links


def skeleton() -> dict:
    doc = {"paths": {}, "components": {"responses": {"Accepted": {"description": "202"}}}}
    for path, method, status in links():
        response = {"$ref": "#/components/responses/Accepted"} if status == "202" else {"description": status}
        doc["paths"].setdefault(path, {}).setdefault(method, {"responses": {}})["responses"][status] = response
    return doc


def test_links_land_on_each_response_and_shared_components_stay_clean():
    doc = skeleton()
    out = with_links(doc)
    for (path, method, status), expected in links().items():
        assert out["paths"][path][method]["responses"][status]["links"] == expected
    assert "links" not in out["components"]["responses"]["Accepted"]
    assert doc == skeleton()  # the input is not modified
    create = out["paths"]["/accounts"]["post"]["responses"]["201"]["links"]
    assert create["GetAccount"] == {"operationId": "getAccount", "parameters": {"id": "$response.body#/id"}}
