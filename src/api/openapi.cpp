// The OpenAPI description of DESIGN §3, §4 and §9, served at GET /openapi.json. Kept as one raw
// literal so that it is reviewed like code. tests/unit/api/openapi_test.cpp keeps it honest: it
// parses, its references and links resolve, every route is described, the error codes in the
// sources and the ones the handler sends are all in Error.code, and the statuses and scopes the
// handler answers with are the ones described here.
#include "xbanku/api/http_handler.hpp"

namespace xbanku::api {

namespace {

constexpr std::string_view kOpenApi = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "xbanku",
    "version": "0.2.0",
    "description": "Event-sourced bank accounts. Commands are written to Kafka and answered once projected (read-your-writes); all reads come from the materialized view. Every response carries X-Request-Id (a client's own X-Request-Id of 1-128 printable ASCII characters is kept); command responses carry X-Command-Id; a response served by another instance carries X-Served-By; an answer from a partition without a serving owner carries X-Stale: true; a query answered from an instance's own view says its role for the partition (X-Served-Role: owner or standby) and, for a standby, how many records it was behind the log's end (X-Replica-Lag).\n\nPositions (DESIGN §8): every command answer carries its record's position, X-Position: <partition>:<offset> (also \"position\" in 202 and 504 bodies and in WebSocket replies). A query of one account (its state, its history) or of a transfer may pass positions as min_position=<partition>:<offset>[,...] (or the X-Min-Position header; on WebSocket the \"min_position\" field of a get): it is answered only from a view that has applied past the position of the query's partition (others are ignored) — the instance's own view (owner or standby, waiting up to 1 s for it), else the partition's owner (waiting alike), else 504 position_not_reached; never from an older copy. So a client that writes through one instance and reads through another, passing the position its write returned, never reads older than its own write. Every error body is {\"error\":{\"code\",\"message\"}}. Request bodies are limited to 64 KiB (413 payload_too_large) and must be sent as application/json (415); headers to 8 KiB (431 header_too_large). An unknown path is 404 not_found; a known path with another method is 405 method_not_allowed with an Allow header.\n\nSecurity (bearerAuth): every operation but /healthz, /readyz, /openapi.json and the console's files (/ and /assets/*) needs a bearer JWT; its scopes decide what the caller may do (x-xbanku-scope on each operation names the scope it needs). An account belongs to the principal that created it: its commands, reads, history and subscriptions need that principal or admin, and another principal's account answers 404 account_not_found exactly as a missing one (nothing is written). A transfer may credit any existing account. Idempotency keys are per principal. Without authentication configured (--auth=none) the service runs in protected mode: it only listens on a loopback address and every caller is an administrator.\n\nLimits: a Host (or, on /ws, an Origin) outside --allowed-hosts is 403 host_not_allowed / origin_not_allowed; an authenticated caller's requests over the per-connection or per-principal rate are 429 rate_limited with Retry-After (the probes, this document and the console's files, which have no principal, are never rate limited: the connection limits bound them); a connection over the connection limits is answered 503 overloaded with Retry-After and closed."
  },
  "security": [{"bearerAuth": []}],
  "paths": {
    "/accounts": {
      "post": {
        "operationId": "createAccount",
        "summary": "Open an account (balance 0, version 1) owned by the caller",
        "x-xbanku-scope": "accounts:write",
        "parameters": [
          {"$ref": "#/components/parameters/IdempotencyKey"},
          {"$ref": "#/components/parameters/Wait"}
        ],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateAccount"}}}
        },
        "responses": {
          "201": {"description": "The account was created", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}, "X-Position": {"$ref": "#/components/headers/X-Position"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}},
                  "links": {
                    "GetAccount": {"operationId": "getAccount", "parameters": {"id": "$response.body#/id"}},
                    "GetHistory": {"operationId": "getAccountHistory", "parameters": {"id": "$response.body#/id"}},
                    "Deposit": {"operationId": "deposit", "parameters": {"id": "$response.body#/id"}},
                    "Withdraw": {"operationId": "withdraw", "parameters": {"id": "$response.body#/id"}},
                    "GetCommand": {"operationId": "getCommand", "parameters": {"command_id": "$response.header.X-Command-Id"}}
                  }},
          "202": {"$ref": "#/components/responses/Accepted"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/KeyReused"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/LogUnavailable"},
          "504": {"$ref": "#/components/responses/Pending"}
        }
      },
      "get": {
        "operationId": "listAccounts",
        "summary": "The caller's accounts in id order (every account for an administrator)",
        "x-xbanku-scope": "accounts:read",
        "parameters": [
          {"$ref": "#/components/parameters/Limit"},
          {"name": "after", "in": "query", "required": false, "description": "Continue after this account id (the previous page's next); empty or absent: from the first account",
           "schema": {"type": "string", "pattern": "^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"}},
          {"name": "prefix", "in": "query", "required": false, "description": "Only accounts whose id starts with this (either case), e.g. 4f2a; the page ends (next: null) where the ids stop matching. 400 bad_request unless it can start an 8-4-4-4-12 id",
           "schema": {"type": "string", "maxLength": 36, "pattern": "^[0-9a-fA-F-]*$"}}
        ],
        "responses": {
          "200": {"description": "One page of accounts", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccountPage"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/accounts/{id}": {
      "get": {
        "operationId": "getAccount",
        "summary": "One account (another principal's answers 404 like a missing one)",
        "x-xbanku-scope": "accounts:read",
        "parameters": [{"$ref": "#/components/parameters/AccountId"}, {"$ref": "#/components/parameters/MinPosition"},
                       {"$ref": "#/components/parameters/MinPositionHeader"}, {"$ref": "#/components/parameters/Hops"}],
        "responses": {
          "200": {"description": "The account",
                  "headers": {"X-Served-Role": {"$ref": "#/components/headers/X-Served-Role"}, "X-Replica-Lag": {"$ref": "#/components/headers/X-Replica-Lag"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "504": {"$ref": "#/components/responses/PositionNotReached"}
        }
      }
    },
    "/accounts/{id}/events": {
      "get": {
        "operationId": "getAccountHistory",
        "summary": "The records applied to the account, in log order",
        "x-xbanku-scope": "accounts:read",
        "parameters": [
          {"$ref": "#/components/parameters/AccountId"},
          {"$ref": "#/components/parameters/Limit"},
          {"name": "after", "in": "query", "required": false, "description": "The previous page's next (a sequence number of 1-19 digits); empty or absent: from the first record. Anything else is 400: it did not come from a previous page.",
           "schema": {"type": "string", "pattern": "^[0-9]{0,19}$"}},
          {"$ref": "#/components/parameters/MinPosition"},
          {"$ref": "#/components/parameters/MinPositionHeader"},
          {"$ref": "#/components/parameters/Hops"}
        ],
        "responses": {
          "200": {"description": "One page of history", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HistoryPage"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "504": {"$ref": "#/components/responses/PositionNotReached"}
        }
      }
    },
    "/accounts/{id}/deposit": {
      "post": {
        "operationId": "deposit",
        "summary": "Deposit into one of the caller's accounts",
        "x-xbanku-scope": "accounts:write",
        "parameters": [
          {"$ref": "#/components/parameters/AccountId"},
          {"$ref": "#/components/parameters/IdempotencyKey"},
          {"$ref": "#/components/parameters/Wait"}
        ],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AmountBody"}}}},
        "responses": {
          "200": {"description": "The account after the deposit", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}, "X-Position": {"$ref": "#/components/headers/X-Position"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}},
                  "links": {
                    "GetAccount": {"operationId": "getAccount", "parameters": {"id": "$response.body#/id"}},
                    "GetHistory": {"operationId": "getAccountHistory", "parameters": {"id": "$response.body#/id"}},
                    "Deposit": {"operationId": "deposit", "parameters": {"id": "$response.body#/id"}},
                    "Withdraw": {"operationId": "withdraw", "parameters": {"id": "$response.body#/id"}},
                    "GetCommand": {"operationId": "getCommand", "parameters": {"command_id": "$response.header.X-Command-Id"}}
                  }},
          "202": {"$ref": "#/components/responses/Accepted"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/KeyReused"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/LogUnavailable"},
          "504": {"$ref": "#/components/responses/Pending"}
        }
      }
    },
    "/accounts/{id}/withdraw": {
      "post": {
        "operationId": "withdraw",
        "summary": "Withdraw from one of the caller's accounts",
        "x-xbanku-scope": "accounts:write",
        "parameters": [
          {"$ref": "#/components/parameters/AccountId"},
          {"$ref": "#/components/parameters/IdempotencyKey"},
          {"$ref": "#/components/parameters/Wait"}
        ],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AmountBody"}}}},
        "responses": {
          "200": {"description": "The account after the withdrawal", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}, "X-Position": {"$ref": "#/components/headers/X-Position"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}},
                  "links": {
                    "GetAccount": {"operationId": "getAccount", "parameters": {"id": "$response.body#/id"}},
                    "GetHistory": {"operationId": "getAccountHistory", "parameters": {"id": "$response.body#/id"}},
                    "Deposit": {"operationId": "deposit", "parameters": {"id": "$response.body#/id"}},
                    "Withdraw": {"operationId": "withdraw", "parameters": {"id": "$response.body#/id"}},
                    "GetCommand": {"operationId": "getCommand", "parameters": {"command_id": "$response.header.X-Command-Id"}}
                  }},
          "202": {"$ref": "#/components/responses/Accepted"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/KeyReused"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/LogUnavailable"},
          "504": {"$ref": "#/components/responses/Pending"}
        }
      }
    },
    "/transfers": {
      "post": {
        "operationId": "transfer",
        "summary": "Move money from one of the caller's accounts to any existing account (pending while a cross-partition credit is in flight)",
        "x-xbanku-scope": "accounts:write",
        "parameters": [
          {"$ref": "#/components/parameters/IdempotencyKey"},
          {"$ref": "#/components/parameters/Wait"}
        ],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TransferBody"}}}},
        "responses": {
          "200": {"description": "The transfer's state", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}, "X-Position": {"$ref": "#/components/headers/X-Position"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Transfer"}}},
                  "links": {
                    "GetSource": {"operationId": "getAccount", "parameters": {"id": "$response.body#/from"}},
                    "GetTarget": {"operationId": "getAccount", "parameters": {"id": "$response.body#/to"}},
                    "GetTransferAtTarget": {"operationId": "getTransferAtTarget",
                                            "parameters": {"transfer_id": "$response.body#/transfer_id", "to": "$response.body#/to"}},
                    "GetCommand": {"operationId": "getCommand", "parameters": {"command_id": "$response.header.X-Command-Id"}}
                  }},
          "202": {"$ref": "#/components/responses/Accepted"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "422": {"$ref": "#/components/responses/KeyReused"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/LogUnavailable"},
          "504": {"$ref": "#/components/responses/Pending"}
        }
      }
    },
    "/commands/{command_id}": {
      "get": {
        "operationId": "getCommand",
        "summary": "The outcome of one of the caller's commands (by Idempotency-Key or X-Command-Id); keys are per principal, so another principal's key is 404",
        "x-xbanku-scope": "accounts:read",
        "parameters": [
          {"name": "command_id", "in": "path", "required": true, "description": "1-128 printable ASCII characters, no spaces (as an Idempotency-Key); anything else is 400 invalid_id",
           "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"}},
          {"name": "wait_ms", "in": "query", "required": false, "description": "Wait this long for a command not projected yet. Clients may ask for at most --max-client-wait-ms (default 10000, configurable up to 60000); more is 400. Other instances forwarding a read-your-writes wait may ask for up to 60000, and so may every caller in protected mode (no authentication), where callers are not told apart from instances.",
           "schema": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0}},
          {"$ref": "#/components/parameters/Hops"}
        ],
        "responses": {
          "200": {"description": "The command's outcome", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandStatus"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/transfers/{transfer_id}": {
      "get": {
        "operationId": "getTransferAtTarget",
        "summary": "A cross-partition transfer as its target's partition sees it: completed, or credit_failed (a refund is on its way). Instances use it to resolve a pending transfer; it is for administrators and instances only (a client follows its transfer at GET /commands/{command_id}).",
        "x-xbanku-scope": "admin",
        "parameters": [
          {"name": "transfer_id", "in": "path", "required": true,
           "description": "The transfer id of POST /transfers: <partition>-<offset> of the transfer's record. (Any other id of 1-128 bytes is looked up too and is 404 transfer_not_found; empty or longer is 400 invalid_id.)",
           "schema": {"type": "string", "pattern": "^[0-9]{1,10}-[0-9]{1,19}$"}},
          {"name": "to", "in": "query", "required": true, "description": "The target account (it places the transfer's credit); missing is 400 bad_request, not a UUID 400 invalid_id", "schema": {"type": "string", "format": "uuid"}},
          {"$ref": "#/components/parameters/MinPosition"},
          {"$ref": "#/components/parameters/MinPositionHeader"},
          {"$ref": "#/components/parameters/Hops"}
        ],
        "responses": {
          "200": {"description": "The target side's state", "content": {"application/json": {"schema": {
            "type": "object", "required": ["transfer_id", "status"], "properties": {
              "transfer_id": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "completed", "credit_failed", "refunded"]}}}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "504": {"$ref": "#/components/responses/PositionNotReached"}
        }
      }
    },
    "/ws": {
      "get": {
        "operationId": "websocket",
        "summary": "The WebSocket API (DESIGN §4): an upgrade to a session of JSON text frames",
        "description": "Client → server: {\"id\": <any, at most 256 bytes of JSON>, \"op\": \"create\" | \"deposit\" | \"withdraw\" | \"transfer\" | \"get\" | \"command\" | \"subscribe\" | \"unsubscribe\" | \"auth\", …} with the HTTP bodies' arguments (\"account\" names the account of deposit, withdraw and get, and the id of create; \"command_id\" for command; \"idempotency_key\" and \"wait\" for commands; \"accounts\": [ids] or \"*\" for subscribe and unsubscribe). Server → client: {\"id\", \"ok\": true, \"result\"} or {\"id\", \"ok\": false, \"error\": {\"code\", \"message\"}} (codes as in Error; a read-your-writes wait that passed is code pending with command_id, partition and offset), and {\"op\": \"update\", \"account\", \"partition\", \"offset\"} for subscriptions. Each op needs what its HTTP counterpart needs (commands accounts:write, get, command and subscribe accounts:read and the account's owner; \"*\" is for administrators).\n\nTokens: the upgrade carries the bearer token in Authorization or, since browsers cannot set headers there, in ?access_token= (RFC 6750 §2.3). The session ends with close code 1008 (policy violation) when the token expires, unless the client renews it first with {\"op\": \"auth\", \"token\": \"<fresh token>\"} for the same principal (result {\"expires_at\"}; another principal is forbidden, a bad token unauthorized). A client that does not read is closed with 1008 too, before its queue passes 1,024 messages or 4 MiB. Limits per connection: requests in flight (too_many_in_flight), subscribed accounts (too_many_subscriptions) and messages per second (rate_limited).",
        "x-xbanku-scope": "any",
        "parameters": [
          {"name": "access_token", "in": "query", "required": false, "description": "The bearer token, when the client cannot send an Authorization header (only read on the upgrade)", "schema": {"type": "string"}},
          {"$ref": "#/components/parameters/Hops"}
        ],
        "responses": {
          "101": {"description": "Switching Protocols: the WebSocket session begins"},
          "400": {"description": "A malformed upgrade request (answered by the WebSocket library)"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"description": "host_not_allowed, or origin_not_allowed: the upgrade's Origin is not in --allowed-hosts (against cross-site WebSocket hijacking)",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "426": {"description": "upgrade_required: /ws only answers WebSocket upgrades (a wrong Sec-WebSocket-Version is answered 426 by the WebSocket library)",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "503": {"$ref": "#/components/responses/Overloaded"}
        }
      }
    },
    "/healthz": {
      "get": {
        "operationId": "healthz",
        "summary": "Liveness (open: no token needed)",
        "security": [],
        "responses": {
          "200": {"description": "The process is up", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}},
          "403": {"$ref": "#/components/responses/HostNotAllowed"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "503": {"$ref": "#/components/responses/Overloaded"}
        }
      }
    },
    "/readyz": {
      "get": {
        "operationId": "readyz",
        "summary": "Readiness: every assigned partition has caught up (open: no token needed)",
        "security": [],
        "responses": {
          "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}},
          "403": {"$ref": "#/components/responses/HostNotAllowed"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "503": {"description": "Not ready yet (the readiness object), or overloaded (an Error)",
                  "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                  "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Readiness"}, {"$ref": "#/components/schemas/Error"}]}}}}
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "summary": "Prometheus metrics (administrators only)",
        "x-xbanku-scope": "admin",
        "responses": {
          "200": {"description": "Text exposition format 0.0.4", "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "503": {"$ref": "#/components/responses/Overloaded"}
        }
      }
    },
    "/cluster": {
      "get": {
        "operationId": "getCluster",
        "summary": "The members table (each instance, its URL and the partitions it owns), each partition's owner, and this instance's progress on its own partitions: serving, applied offset, log end and lag (administrators only)",
        "x-xbanku-scope": "admin",
        "responses": {
          "200": {"description": "The cluster as this instance knows it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Cluster"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/dlq": {
      "get": {
        "operationId": "listDeadLetters",
        "summary": "Records of <topic>.dlq (what the projector could not apply) with their origin and reason, in offset order; read from Kafka within a few seconds (administrators only)",
        "x-xbanku-scope": "admin",
        "parameters": [
          {"$ref": "#/components/parameters/Limit"},
          {"name": "after", "in": "query", "required": false, "description": "Continue after this offset (the previous page's next); absent: from the first record",
           "schema": {"type": "string", "pattern": "^[0-9]*$"}}
        ],
        "responses": {
          "200": {"description": "One page of dead letters", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeadLetterPage"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "429": {"$ref": "#/components/responses/RateLimited"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"description": "log_unavailable: Kafka could not be read in time (or too many reads run); unavailable: this instance cannot read it now; overloaded: too many connections",
                  "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/": {
      "get": {
        "operationId": "console",
        "summary": "The web console's page (also at /index.html; open: the page asks for a token itself). Strict Content-Security-Policy, X-Content-Type-Options: nosniff, a strong ETag (If-None-Match: 304) and Cache-Control: no-cache",
        "security": [],
        "responses": {
          "200": {"description": "The page", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}, "Content-Security-Policy": {"$ref": "#/components/headers/Content-Security-Policy"}},
                  "content": {"text/html; charset=utf-8": {"schema": {"type": "string"}}}},
          "304": {"description": "Not modified (If-None-Match named the current ETag)", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
          "403": {"$ref": "#/components/responses/HostNotAllowed"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "503": {"$ref": "#/components/responses/Overloaded"}
        }
      }
    },
    "/assets/{file}": {
      "get": {
        "operationId": "consoleAsset",
        "summary": "A script, style sheet or icon of the web console, under a content-hashed name (open). Cache-Control: public, max-age=31536000, immutable; strong ETag",
        "security": [],
        "parameters": [{"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "The file", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                  "content": {"text/javascript; charset=utf-8": {"schema": {"type": "string"}}, "text/css; charset=utf-8": {"schema": {"type": "string"}},
                              "image/svg+xml": {"schema": {"type": "string"}}, "application/json": {"schema": {}}, "image/png": {"schema": {"type": "string", "format": "binary"}},
                              "font/woff2": {"schema": {"type": "string", "format": "binary"}}}},
          "304": {"description": "Not modified", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
          "403": {"$ref": "#/components/responses/HostNotAllowed"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "503": {"$ref": "#/components/responses/Overloaded"}
        }
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document (open: no token needed)",
        "security": [],
        "responses": {
          "200": {"description": "OpenAPI 3.0.3", "content": {"application/json": {"schema": {"type": "object"}}}},
          "403": {"$ref": "#/components/responses/HostNotAllowed"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "431": {"$ref": "#/components/responses/HeaderTooLarge"},
          "503": {"$ref": "#/components/responses/Overloaded"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearerAuth": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A JWT (HS256, RS256 or ES256; exp required, alg none refused) whose sub is the principal and whose scope claim holds any of: accounts:read (read the principal's own accounts, their history and commands), accounts:write (open accounts and move money from them; implies accounts:read), admin (everything: every account, /metrics, GET /transfers/{transfer_id}; implies accounts:write). A missing or bad token is 401 unauthorized with WWW-Authenticate: Bearer realm=\"xbanku\" (error=\"invalid_token\" for a bad one, RFC 6750 §3); a token without the scope an operation needs (x-xbanku-scope) is 403 forbidden with WWW-Authenticate: Bearer realm=\"xbanku\", error=\"insufficient_scope\", scope=\"<scope>\". Without authentication configured the service runs in protected mode: loopback only, no token needed, every caller an administrator."
      }
    },
    "parameters": {
      "Hops": {"name": "X-Xbanku-Hops", "in": "header", "required": false,
               "description": "Set by an instance forwarding a query to the partition's owner (0..16). A request carrying it is answered where it arrives, never forwarded again. Ignored from clients when authentication is configured (only a verified instance sets it); in protected mode it is honoured from anyone.",
               "schema": {"type": "integer", "minimum": 0, "maximum": 16}},
      "AccountId": {"name": "id", "in": "path", "required": true, "description": "Account id; not a UUID → 400 invalid_id",
                    "schema": {"type": "string", "format": "uuid"}},
      "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": false,
                         "description": "Becomes the command id, bound to this request (type, accounts, amount, name) and to the caller's principal: repeating the same request with the same key returns the first outcome and applies nothing twice; another request under a key already used is 422 idempotency_key_reused and applies nothing. A key's scope is the partition of the account the command names first, and the principal (two principals' equal keys are different keys). A create that names no id gets one derived from the principal and the key, so its retries are the same request. Without a key the server makes a fresh id. Keys are 1-128 printable ASCII characters without spaces (400 bad_request otherwise); they never name transfers (a transfer's id is its record's position).",
                         "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"}},
      "Wait": {"name": "wait", "in": "query", "required": false,
               "description": "true or 1 (default): answer once the command is projected; false or 0: answer 202 once Kafka has acknowledged it. Anything else is 400.",
               "schema": {"type": "string", "enum": ["true", "false", "1", "0"], "default": "true"}},
      "Limit": {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
      "MinPosition": {"name": "min_position", "in": "query", "required": false,
                      "description": "Answer only from a view that has applied past this position (a command answer's X-Position); several, comma-separated, may be given: the one of the query's partition counts. Malformed is 400 bad_request; not reached within the bound is 504 position_not_reached.",
                      "schema": {"type": "string", "pattern": "^[0-9]{1,10}:[0-9]{1,19}(,[0-9]{1,10}:[0-9]{1,19}){0,63}$"}},
      "MinPositionHeader": {"name": "X-Min-Position", "in": "header", "required": false,
                            "description": "min_position as a header (the query parameter wins when both are given)",
                            "schema": {"type": "string", "pattern": "^[0-9]{1,10}:[0-9]{1,19}(,[0-9]{1,10}:[0-9]{1,19}){0,63}$"}}
    },
    "headers": {
      "X-Command-Id": {"description": "The command id (Idempotency-Key or generated)", "required": true, "schema": {"type": "string"}},
      "X-Position": {"description": "The command's record: <partition>:<offset>, for a later query's min_position", "required": false, "schema": {"type": "string", "pattern": "^[0-9]{1,10}:[0-9]{1,19}$"}},
      "X-Served-Role": {"description": "The answering instance's role for the partition: owner or standby", "required": false, "schema": {"type": "string", "enum": ["owner", "standby"]}},
      "X-Replica-Lag": {"description": "A standby's answer: records its view was behind the log's end as last fetched", "required": false, "schema": {"type": "integer", "minimum": 0}},
      "Allow": {"description": "The methods this path accepts", "required": true, "schema": {"type": "string"}},
      "ETag": {"description": "A strong validator of the file's bytes", "required": true, "schema": {"type": "string"}},
      "Content-Security-Policy": {"description": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; and so on: nothing from elsewhere, nothing inline", "required": true, "schema": {"type": "string"}},
      "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}},
      "WWW-Authenticate": {"description": "The bearer challenge of RFC 6750: Bearer realm=\"xbanku\", with error=\"invalid_token\" for a bad token or error=\"insufficient_scope\", scope=\"…\" for a missing scope",
                           "schema": {"type": "string"}}
    },
    "schemas": {
      "Account": {
        "type": "object", "required": ["id", "name", "balance", "version"],
        "properties": {
          "id": {"type": "string", "format": "uuid"},
          "name": {"type": "string", "minLength": 1, "maxLength": 200},
          "balance": {"type": "integer", "format": "int64", "description": "Minor units (cents)"},
          "version": {"type": "integer", "format": "int64", "minimum": 1, "description": "Number of records applied to the account"},
          "owner": {"type": "string", "description": "The principal that created it; absent for accounts created without authentication"}
        }
      },
      "CreateAccount": {
        "type": "object", "required": ["name"],
        "properties": {
          "name": {"type": "string",
                   "description": "1-200 characters (code points) after trimming spaces, tabs and line breaks at both ends, with no control character (C0, DEL, C1) and no bidirectional override or isolate (U+202A-U+202E, U+2066-U+2069); otherwise 400 invalid_name. (The pattern counts UTF-16 code units where the ECMA dialect does, so it refuses some names of astral characters the server accepts.)",
                   "pattern": "^[\\t\\n\\v\\f\\r ]*[^\\x00-\\x20\\x7F-\\x9F\\u202A-\\u202E\\u2066-\\u2069](?:[^\\x00-\\x1F\\x7F-\\x9F\\u202A-\\u202E\\u2066-\\u2069]{0,198}[^\\x00-\\x20\\x7F-\\x9F\\u202A-\\u202E\\u2066-\\u2069])?[\\t\\n\\v\\f\\r ]*$"},
          "id": {"type": "string", "format": "uuid", "description": "Optional; the server makes one when absent or null (400 invalid_id if not a UUID)"}
        }
      },
      "AmountBody": {
        "type": "object", "required": ["amount"],
        "properties": {"amount": {"$ref": "#/components/schemas/Amount"}}
      },
      "Amount": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 1000000000000000,
                 "description": "Minor units; a non-integer, a string or an out-of-range number is 400 invalid_amount"},
      "TransferBody": {
        "type": "object", "required": ["from", "to", "amount"],
        "properties": {
          "from": {"type": "string", "format": "uuid", "description": "One of the caller's accounts (another principal's is 404 account_not_found)"},
          "to": {"type": "string", "format": "uuid", "description": "Any existing account"},
          "amount": {"$ref": "#/components/schemas/Amount"}
        }
      },
      "Transfer": {
        "type": "object", "required": ["transfer_id", "status", "from", "to"],
        "properties": {
          "transfer_id": {"type": "string", "description": "<partition>-<offset> of the transfer's record"},
          "status": {"type": "string", "enum": ["completed", "pending", "refunded"]},
          "from": {"type": "string", "format": "uuid"},
          "to": {"type": "string", "format": "uuid"}
        }
      },
      "AccountPage": {
        "type": "object", "required": ["accounts", "next"],
        "properties": {
          "accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}},
          "next": {"type": "string", "format": "uuid", "nullable": true}
        }
      },
      "HistoryEvent": {
        "type": "object", "required": ["partition", "offset", "type", "amount", "balance_after", "cursor"],
        "properties": {
          "partition": {"type": "integer", "format": "int32"},
          "offset": {"type": "integer", "format": "int64"},
          "type": {"type": "string", "enum": ["create", "deposit", "withdraw", "transfer", "transfer_credit", "transfer_refund"]},
          "amount": {"type": "integer", "format": "int64"},
          "balance_after": {"type": "integer", "format": "int64"},
          "counterparty": {"type": "string", "format": "uuid"},
          "command_id": {"type": "string"},
          "transfer_id": {"type": "string"},
          "ts": {"type": "integer", "format": "int64", "description": "Milliseconds since the epoch"},
          "principal": {"type": "string", "description": "Who asked for the record (absent without authentication and on records other writers made)"},
          "request_id": {"type": "string", "description": "The X-Request-Id of the request that wrote the record (absent on records other writers made)"},
          "cursor": {"type": "string", "pattern": "^[0-9]{1,19}$"}
        }
      },
      "HistoryPage": {
        "type": "object", "required": ["events", "next"],
        "properties": {
          "events": {"type": "array", "items": {"$ref": "#/components/schemas/HistoryEvent"}},
          "next": {"type": "string", "pattern": "^[0-9]{1,19}$", "nullable": true}
        }
      },
      "CommandStatus": {
        "type": "object", "required": ["status", "partition", "offset"],
        "properties": {
          "command_id": {"type": "string"},
          "type": {"type": "string"},
          "status": {"type": "string", "enum": ["applied", "rejected", "pending", "completed", "refunded"]},
          "reason": {"type": "string", "enum": ["account_exists", "account_not_found", "balance_overflow", "insufficient_funds", "same_account", "target_not_found", "invalid_amount", "malformed_event", "unknown_type", "misplaced_record", "idempotency_key_reused"]},
          "partition": {"type": "integer", "format": "int32"},
          "offset": {"type": "integer", "format": "int64"},
          "account_id": {"type": "string"},
          "account": {"$ref": "#/components/schemas/Account"},
          "transfer_id": {"type": "string"},
          "from": {"type": "string"},
          "to": {"type": "string"},
          "amount": {"type": "integer", "format": "int64", "description": "What the command asked to move"},
          "name": {"type": "string", "description": "The name a create asked for"},
          "principal": {"type": "string", "description": "The key's principal (with authentication)"}
        }
      },
      "Accepted": {
        "type": "object", "required": ["command_id", "partition", "offset", "position"],
        "properties": {
          "command_id": {"type": "string"},
          "partition": {"type": "integer", "format": "int32"},
          "offset": {"type": "integer", "format": "int64"},
          "position": {"type": "string", "description": "<partition>:<offset>, for a later query's min_position"}
        }
      },
      "Pending": {
        "allOf": [
          {"$ref": "#/components/schemas/Accepted"},
          {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["pending"]}}}
        ]
      },
      "Cluster": {
        "type": "object", "required": ["instance", "partitions_total", "members", "partitions"],
        "properties": {
          "instance": {"type": "string", "description": "The instance that answered"},
          "partitions_total": {"type": "integer"},
          "members": {"type": "array", "items": {"type": "object", "required": ["instance", "url", "partitions", "self", "alive"], "properties": {
            "instance": {"type": "string"}, "url": {"type": "string"},
            "partitions": {"type": "array", "items": {"type": "integer"}, "description": "The partitions it owns now (its latest claims no newer claim superseded); empty: it owns none (stopped, or gone and replaced)"},
            "self": {"type": "boolean", "description": "The instance that answered"},
            "alive": {"type": "boolean", "description": "It is the instance that answered, or owns a partition now; a killed instance is no longer alive once the group has handed its partitions on (its session timeout), a stopped one at once"}}}},
          "partitions": {"type": "array", "items": {"type": "object", "required": ["partition", "owner"], "properties": {
            "partition": {"type": "integer"},
            "owner": {"type": "string", "nullable": true, "description": "The instance serving it as last announced; null: none claims it"},
            "serving": {"type": "boolean", "nullable": true, "description": "This instance's partitions only (null for another's): caught up and answering"},
            "applied": {"type": "integer", "nullable": true, "description": "The next offset the view has committed (this instance's partitions)"},
            "end": {"type": "integer", "nullable": true, "description": "The log's end as last fetched (this instance's partitions)"},
            "lag": {"type": "integer", "nullable": true, "description": "end - applied (this instance's partitions)"},
            "standbys": {"type": "array", "items": {"type": "string"}, "description": "The instances that shadow the partition (standby replicas), as each says"}}}}
        }
      },
      "DeadLetterPage": {
        "type": "object", "required": ["letters", "next"],
        "properties": {
          "letters": {"type": "array", "items": {"type": "object", "required": ["offset", "origin", "reason", "key", "value"], "properties": {
            "offset": {"type": "integer", "description": "Its offset in <topic>.dlq"},
            "origin": {"type": "object", "properties": {"topic": {"type": "string"}, "partition": {"type": "integer", "nullable": true}, "offset": {"type": "integer", "nullable": true}}},
            "reason": {"type": "string", "description": "Why the projector could not apply it, e.g. malformed_event: …"},
            "key": {"type": "string", "nullable": true},
            "value": {"type": "string", "nullable": true, "description": "As written (invalid UTF-8 shown as U+FFFD), cut to 4 KiB"},
            "truncated_from": {"type": "integer", "description": "The record's original size when value is cut"}}}},
          "next": {"type": "integer", "nullable": true, "description": "Pass as after for the next page; null: the last page"}
        }
      },
      "Readiness": {
        "type": "object", "required": ["ready"], "additionalProperties": true,
        "properties": {
          "ready": {"type": "boolean"},
          "instance": {"type": "string"},
          "serving": {"type": "array", "items": {"type": "integer"}, "description": "The partitions this instance serves"},
          "lag": {"type": "object", "description": "Records behind, per assigned partition (null: not known yet)",
                  "additionalProperties": {"type": "integer", "nullable": true}},
          "standby": {"type": "array", "items": {"type": "integer"}, "description": "The partitions this instance shadows (standby replicas)"},
          "standby_lag": {"type": "object", "description": "Records behind the log's end as last fetched, per shadowed partition (null: not known yet)",
                          "additionalProperties": {"type": "integer", "nullable": true}},
          "reason": {"type": "string", "enum": ["log_unavailable", "store_unwritable"], "description": "Set while the Kafka cluster cannot be reached, or while the view cannot be written, e.g. its filesystem is full (503)"},
          "detail": {"type": "string", "description": "With reason: the last connection error, or RocksDB's words for the last failed write"},
          "projector": {"type": "object", "description": "With reason: the projector's readiness object"}
        }
      },
      "Error": {
        "type": "object", "required": ["error"],
        "properties": {
          "error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
              "code": {"type": "string", "description": "Every code either front end sends. unknown_op, too_many_in_flight, too_many_subscriptions and pending are WebSocket replies only; malformed_event, unknown_type and misplaced_record are projector rejections the API's own validation and placement make unreachable for its commands.",
                       "enum": ["bad_request", "invalid_amount", "invalid_id", "invalid_name", "not_found", "method_not_allowed", "payload_too_large", "header_too_large", "unsupported_media_type", "upgrade_required", "unauthorized", "forbidden", "host_not_allowed", "origin_not_allowed", "rate_limited", "account_exists", "account_not_found", "target_not_found", "command_not_found", "transfer_not_found", "balance_overflow", "insufficient_funds", "same_account", "idempotency_key_reused", "malformed_event", "unknown_type", "misplaced_record", "log_unavailable", "log_uncertain", "shutting_down", "unavailable", "position_not_reached", "overloaded", "store_error", "internal", "unknown_op", "too_many_in_flight", "too_many_subscriptions", "pending"]},
              "message": {"type": "string", "description": "Human-readable; names the offending field"}
            }
          }
        }
      }
    },
    "responses": {
      "Accepted": {"description": "wait=false: Kafka acknowledged the command; it is not projected yet",
                   "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}, "X-Position": {"$ref": "#/components/headers/X-Position"}},
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
                   "links": {"GetCommand": {"operationId": "getCommand", "parameters": {"command_id": "$response.body#/command_id"}}}},
      "Pending": {"description": "The read-your-writes wait timed out: the command is durable; GET /commands/{command_id} tells its fate",
                  "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}, "X-Position": {"$ref": "#/components/headers/X-Position"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pending"}}}},
      "BadRequest": {"description": "Malformed JSON, a key given twice in one object, a missing or mistyped field, a bad query parameter, Idempotency-Key or X-Xbanku-Hops (bad_request), a bad amount (invalid_amount), a non-UUID or malformed id (invalid_id), a bad name (invalid_name)",
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "unauthorized: the bearer token is missing, malformed, expired or not valid (or a peer credential is not valid)",
                       "headers": {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
                       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Forbidden": {"description": "forbidden: the token lacks the operation's scope (x-xbanku-scope), with WWW-Authenticate error=\"insufficient_scope\"; or host_not_allowed: the Host is not in --allowed-hosts",
                    "headers": {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "HostNotAllowed": {"description": "host_not_allowed: the Host is not in --allowed-hosts",
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "account_not_found (also another principal's account), target_not_found, command_not_found (also another principal's command), transfer_not_found, or not_found for a path that names no resource",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "account_exists, balance_overflow, insufficient_funds or same_account",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "KeyReused": {"description": "idempotency_key_reused: the caller already used this Idempotency-Key for a different request; nothing was applied",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "MethodNotAllowed": {"description": "method_not_allowed", "headers": {"Allow": {"$ref": "#/components/headers/Allow"}},
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "PayloadTooLarge": {"description": "payload_too_large: the body is over 64 KiB",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "UnsupportedMediaType": {"description": "unsupported_media_type: Content-Type is not application/json",
                               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "RateLimited": {"description": "rate_limited: over the connection's or the principal's request rate (authenticated callers only)",
                      "headers": {"Retry-After": {"description": "Seconds to wait before retrying", "required": true, "schema": {"type": "integer", "minimum": 1}}},
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "HeaderTooLarge": {"description": "header_too_large: the request header is over 8 KiB; the connection is closed",
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Internal": {"description": "internal: a bug, or store_error: the view could not be read; no internals are disclosed",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "LogUnavailable": {"description": "log_unavailable (the command was NOT written), log_uncertain (it may have been written: check GET /commands/{command_id}), shutting_down, unavailable (no instance can tell whether the account is the caller's) or overloaded (too many connections)",
                         "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unavailable": {"description": "unavailable: no instance can serve the partition now; or overloaded: too many connections",
                      "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "PositionNotReached": {"description": "position_not_reached: min_position was not applied by any view that could answer within the bound (this instance's, then the owner's); retry",
                             "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Overloaded": {"description": "overloaded: too many connections; the connection is closed",
                     "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  }
})json";

}  // namespace

std::string_view openapi_json() noexcept {
  return kOpenApi;
}

}  // namespace xbanku::api
