// The OpenAPI description of DESIGN §3, served at GET /openapi.json. Kept as one raw literal
// so that it is reviewed like code; tests/unit/api checks that it parses and names every route.
#include "xbanku/api/http_handler.hpp"

namespace xbanku::api {

namespace {

constexpr std::string_view kOpenApi = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "xbanku",
    "version": "0.1.0",
    "description": "Event-sourced bank accounts. Commands are written to Kafka and answered once projected (read-your-writes); all reads come from the materialized view. Every response carries X-Request-Id; command responses carry X-Command-Id; a response served by another instance carries X-Served-By; an answer from a partition without a serving owner carries X-Stale: true. Every error body is {\"error\":{\"code\",\"message\"}}. Request bodies are limited to 64 KiB (413) and must be sent as application/json (415). An unknown path is 404 not_found; a known path with another method is 405 method_not_allowed with an Allow header."
  },
  "paths": {
    "/accounts": {
      "post": {
        "operationId": "createAccount",
        "summary": "Open an account (balance 0, version 1)",
        "parameters": [
          {"$ref": "#/components/parameters/IdempotencyKey"},
          {"$ref": "#/components/parameters/Wait"}
        ],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateAccount"}}}
        },
        "responses": {
          "201": {"description": "The account was created", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
          "202": {"$ref": "#/components/responses/Accepted"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "422": {"$ref": "#/components/responses/KeyReused"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/LogUnavailable"},
          "504": {"$ref": "#/components/responses/Pending"}
        }
      },
      "get": {
        "operationId": "listAccounts",
        "summary": "Accounts in id order",
        "parameters": [
          {"$ref": "#/components/parameters/Limit"},
          {"name": "after", "in": "query", "required": false, "description": "Continue after this account id (the previous page's next)",
           "schema": {"type": "string", "format": "uuid"}}
        ],
        "responses": {
          "200": {"description": "One page of accounts", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccountPage"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/accounts/{id}": {
      "get": {
        "operationId": "getAccount",
        "parameters": [{"$ref": "#/components/parameters/AccountId"}, {"$ref": "#/components/parameters/Hops"}],
        "responses": {
          "200": {"description": "The account", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/accounts/{id}/events": {
      "get": {
        "operationId": "getAccountHistory",
        "summary": "The records applied to the account, in log order",
        "parameters": [
          {"$ref": "#/components/parameters/AccountId"},
          {"$ref": "#/components/parameters/Limit"},
          {"name": "after", "in": "query", "required": false, "description": "Opaque cursor: the previous page's next",
           "schema": {"type": "string", "maxLength": 256}}
        ],
        "responses": {
          "200": {"description": "One page of history", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HistoryPage"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/accounts/{id}/deposit": {
      "post": {
        "operationId": "deposit",
        "parameters": [
          {"$ref": "#/components/parameters/AccountId"},
          {"$ref": "#/components/parameters/IdempotencyKey"},
          {"$ref": "#/components/parameters/Wait"}
        ],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AmountBody"}}}},
        "responses": {
          "200": {"description": "The account after the deposit", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
          "202": {"$ref": "#/components/responses/Accepted"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "422": {"$ref": "#/components/responses/KeyReused"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/LogUnavailable"},
          "504": {"$ref": "#/components/responses/Pending"}
        }
      }
    },
    "/accounts/{id}/withdraw": {
      "post": {
        "operationId": "withdraw",
        "parameters": [
          {"$ref": "#/components/parameters/AccountId"},
          {"$ref": "#/components/parameters/IdempotencyKey"},
          {"$ref": "#/components/parameters/Wait"}
        ],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AmountBody"}}}},
        "responses": {
          "200": {"description": "The account after the withdrawal", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
          "202": {"$ref": "#/components/responses/Accepted"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "422": {"$ref": "#/components/responses/KeyReused"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/LogUnavailable"},
          "504": {"$ref": "#/components/responses/Pending"}
        }
      }
    },
    "/transfers": {
      "post": {
        "operationId": "transfer",
        "summary": "Move money between two accounts (pending while a cross-partition credit is in flight)",
        "parameters": [
          {"$ref": "#/components/parameters/IdempotencyKey"},
          {"$ref": "#/components/parameters/Wait"}
        ],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TransferBody"}}}},
        "responses": {
          "200": {"description": "The transfer's state", "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Transfer"}}}},
          "202": {"$ref": "#/components/responses/Accepted"},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "422": {"$ref": "#/components/responses/KeyReused"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/LogUnavailable"},
          "504": {"$ref": "#/components/responses/Pending"}
        }
      }
    },
    "/commands/{command_id}": {
      "get": {
        "operationId": "getCommand",
        "summary": "The outcome of a command (by Idempotency-Key or X-Command-Id)",
        "parameters": [
          {"name": "command_id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
          {"name": "wait_ms", "in": "query", "required": false, "description": "Wait this long for a command not projected yet (another instance forwarding a read-your-writes wait uses it)",
           "schema": {"type": "integer", "minimum": 0, "maximum": 60000, "default": 0}},
          {"$ref": "#/components/parameters/Hops"}
        ],
        "responses": {
          "200": {"description": "The command's outcome", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandStatus"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/transfers/{transfer_id}": {
      "get": {
        "operationId": "getTransferAtTarget",
        "summary": "A cross-partition transfer as its target's partition sees it: completed, or credit_failed (a refund is on its way). Instances use it to resolve a pending transfer.",
        "parameters": [
          {"name": "transfer_id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
          {"name": "to", "in": "query", "required": true, "description": "The target account (it places the transfer's credit)", "schema": {"type": "string", "format": "uuid"}},
          {"$ref": "#/components/parameters/Hops"}
        ],
        "responses": {
          "200": {"description": "The target side's state", "content": {"application/json": {"schema": {
            "type": "object", "required": ["transfer_id", "status"], "properties": {
              "transfer_id": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "completed", "credit_failed", "refunded"]}}}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "500": {"$ref": "#/components/responses/Internal"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/healthz": {
      "get": {
        "operationId": "healthz",
        "summary": "Liveness",
        "responses": {
          "200": {"description": "The process is up", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    },
    "/readyz": {
      "get": {
        "operationId": "readyz",
        "summary": "Readiness: every assigned partition has caught up",
        "responses": {
          "200": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object", "additionalProperties": true}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "503": {"description": "Not ready yet", "content": {"application/json": {"schema": {"type": "object", "additionalProperties": true}}}}
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "summary": "Prometheus metrics",
        "responses": {
          "200": {"description": "Text exposition format 0.0.4", "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document",
        "responses": {
          "200": {"description": "OpenAPI 3.0.3", "content": {"application/json": {"schema": {"type": "object"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    }
  },
  "components": {
    "parameters": {
      "Hops": {"name": "X-Xbanku-Hops", "in": "header", "required": false,
               "description": "Set by an instance forwarding a query to the partition's owner (0..16). A request carrying it is answered where it arrives, never forwarded again.",
               "schema": {"type": "integer", "minimum": 0, "maximum": 16}},
      "AccountId": {"name": "id", "in": "path", "required": true, "description": "Account id; not a UUID → 400 invalid_id",
                    "schema": {"type": "string", "format": "uuid"}},
      "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": false,
                         "description": "Becomes the command id, bound to this request (type, accounts, amount, name): repeating the same request with the same key returns the first outcome and applies nothing twice; another request under a key already used is 422 idempotency_key_reused and applies nothing. A key's scope is the partition of the account the command names first (and the principal). A create that names no id gets one derived from the key, so its retries are the same request. Without a key the server makes a fresh id. Keys are 1-128 printable ASCII characters; they never name transfers (a transfer's id is its record's position).",
                         "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
      "Wait": {"name": "wait", "in": "query", "required": false,
               "description": "true (default): answer once the command is projected; false: answer 202 once Kafka has acknowledged it",
               "schema": {"type": "boolean", "default": true}},
      "Limit": {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
    },
    "headers": {
      "X-Command-Id": {"description": "The command id (Idempotency-Key or generated)", "schema": {"type": "string"}},
      "Allow": {"description": "The methods this path accepts", "schema": {"type": "string"}},
      "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
    },
    "schemas": {
      "Account": {
        "type": "object", "required": ["id", "name", "balance", "version"],
        "properties": {
          "id": {"type": "string", "format": "uuid"},
          "name": {"type": "string", "minLength": 1, "maxLength": 200},
          "balance": {"type": "integer", "format": "int64", "description": "Minor units (cents)"},
          "version": {"type": "integer", "format": "int64", "minimum": 1, "description": "Number of records applied to the account"},
          "owner": {"type": "string", "description": "The principal that created it (with authentication only)"}
        }
      },
      "CreateAccount": {
        "type": "object", "required": ["name"],
        "properties": {
          "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "1–200 characters after trimming, with no control characters and no bidirectional overrides or isolates (400 invalid_name)"},
          "id": {"type": "string", "format": "uuid", "description": "Optional; the server makes one when absent (400 invalid_id if not a UUID)"}
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
          "from": {"type": "string", "format": "uuid"},
          "to": {"type": "string", "format": "uuid"},
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
          "principal": {"type": "string", "description": "Who asked (with authentication)"},
          "request_id": {"type": "string", "description": "The X-Request-Id of the request that wrote the record"},
          "cursor": {"type": "string"}
        }
      },
      "HistoryPage": {
        "type": "object", "required": ["events", "next"],
        "properties": {
          "events": {"type": "array", "items": {"$ref": "#/components/schemas/HistoryEvent"}},
          "next": {"type": "string", "nullable": true}
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
        "type": "object", "required": ["command_id", "partition", "offset"],
        "properties": {
          "command_id": {"type": "string"},
          "partition": {"type": "integer", "format": "int32"},
          "offset": {"type": "integer", "format": "int64"}
        }
      },
      "Pending": {
        "allOf": [
          {"$ref": "#/components/schemas/Accepted"},
          {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["pending"]}}}
        ]
      },
      "Error": {
        "type": "object", "required": ["error"],
        "properties": {
          "error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
              "code": {"type": "string", "enum": ["bad_request", "invalid_amount", "invalid_id", "invalid_name", "not_found", "method_not_allowed", "payload_too_large", "header_too_large", "unsupported_media_type", "account_exists", "account_not_found", "target_not_found", "command_not_found", "balance_overflow", "insufficient_funds", "same_account", "idempotency_key_reused", "log_unavailable", "log_uncertain", "shutting_down", "unavailable", "overloaded", "upgrade_required", "internal"]},
              "message": {"type": "string", "description": "Human-readable; names the offending field"}
            }
          }
        }
      }
    },
    "responses": {
      "Accepted": {"description": "wait=false: Kafka acknowledged the command; it is not projected yet",
                   "headers": {"X-Command-Id": {"$ref": "#/components/headers/X-Command-Id"}},
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
      "Pending": {"description": "The read-your-writes wait timed out: the command is durable; GET /commands/{command_id} tells its fate",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pending"}}}},
      "BadRequest": {"description": "Malformed JSON, a key given twice in one object, a missing or mistyped field (bad_request), a bad amount (invalid_amount), a non-UUID id (invalid_id), a bad name (invalid_name), a bad query parameter or Idempotency-Key",
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "account_not_found, target_not_found or command_not_found",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "account_exists, balance_overflow, insufficient_funds or same_account",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "KeyReused": {"description": "idempotency_key_reused: the Idempotency-Key was already used for a different request; nothing was applied",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "MethodNotAllowed": {"description": "method_not_allowed", "headers": {"Allow": {"$ref": "#/components/headers/Allow"}},
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "PayloadTooLarge": {"description": "payload_too_large: the body is over 64 KiB",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "UnsupportedMediaType": {"description": "unsupported_media_type: Content-Type is not application/json",
                               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Internal": {"description": "internal: a bug; no internals are disclosed",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "LogUnavailable": {"description": "log_unavailable (the command was NOT written), log_uncertain (it may have been written: check GET /commands/{command_id}) or shutting_down",
                         "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unavailable": {"description": "unavailable: no instance can serve the partition now",
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
