/*
 * user.c - the identity store's users: Camunda's UserEntity (id, first and
 * last name, e-mail, password) kept in the engine's store, so users live
 * wherever the rest of the engine's data lives.
 *
 * The core never sees a password: the host hashes it (salted, slow) and
 * hands over the hash as `passwordHash`; the core stores that text as it
 * is and gives it back only through getUserCredentials, which no REST
 * route exposes (the host checks passwords with it).
 */
#include "core.h"

#include <string.h>

#define USER "user"

/* Camunda's generalResourceWhitelistPattern, "[a-zA-Z0-9]+|camunda-admin". */
static int whitelisted_id(const char *id) {
  if (strcmp(id, "camunda-admin") == 0) return 1;
  if (!*id) return 0;
  for (const char *c = id; *c; c++) {
    int alnum = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
    if (!alnum) return 0;
  }
  return 1;
}

/* A profile field as Jackson reads a String: scalars as their text, null
 * or absent as null; an object or array is a 400. */
static int profile_text(const cJSON *profile, const char *key, char *buf, size_t cap,
                        const char **out, rb_response *res) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(profile, key);
  *out = NULL;
  if (!item || cJSON_IsNull(item)) return REBATCH_OK;
  if (cJSON_IsString(item)) {
    *out = item->valuestring;
    return REBATCH_OK;
  }
  if (cJSON_IsBool(item)) {
    *out = cJSON_IsTrue(item) ? "true" : "false";
    return REBATCH_OK;
  }
  if (cJSON_IsNumber(item) && cap >= 32) {
    rb_format_number(item->valuedouble, buf);
    *out = buf;
    return REBATCH_OK;
  }
  return rb_invalid(res, 400, "Cannot deserialize value of type `java.lang.String` from %s value (token `%s`) at \"profile.%s\"",
                    cJSON_IsArray(item) ? "Array" : "Object",
                    cJSON_IsArray(item) ? "JsonToken.START_ARRAY" : "JsonToken.START_OBJECT", key);
}

/* The host's hash of a new password: absent or null for none; anything
 * but a string is refused, and so is a clear-text `credentials.password`
 * (the host must hash it; the core would store it as it is). */
static int password_hash(const cJSON *body, const char **out, rb_response *res) {
  const cJSON *hash = cJSON_GetObjectItemCaseSensitive(body, "passwordHash");
  const cJSON *credentials = cJSON_GetObjectItemCaseSensitive(body, "credentials");
  *out = NULL;
  if (cJSON_IsObject(credentials) && rb_has(credentials, "password") &&
      !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(credentials, "password")))
    return rb_invalid(res, 400, "credentials.password must be hashed by the host and passed as passwordHash");
  if (!hash || cJSON_IsNull(hash)) return REBATCH_OK;
  if (!cJSON_IsString(hash) || !*hash->valuestring)
    return rb_invalid(res, 400, "passwordHash must be a non-empty string");
  *out = hash->valuestring;
  return REBATCH_OK;
}

static cJSON *new_user(const char *id, const char *first, const char *last, const char *email,
                       const char *hash) {
  cJSON *r = cJSON_CreateObject();
  if (!r) return NULL;
  rb_put_str(r, "id", id);
  rb_put_str(r, "firstName", first);
  rb_put_str(r, "lastName", last);
  rb_put_str(r, "email", email);
  rb_put_str(r, "passwordHash", hash);
  if (!rb_has(r, "passwordHash")) {
    cJSON_Delete(r);
    return NULL;
  }
  return r;
}

/* UserRestServiceImpl.createUser, then SaveUserCmd: profile and id first,
 * then the id's whitelist, then the insert (a taken id fails it). */
int rb_op_createUser(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const cJSON *profile = cJSON_GetObjectItemCaseSensitive(body, "profile");
  char nbuf[3][32];
  const char *id, *first, *last, *email, *hash;
  rb_doc doc;
  cJSON *record;
  int rc;
  if (!cJSON_IsObject(profile) || !rb_str(profile, "id"))
    return rb_invalid(res, 400, "request object must provide profile information with valid id.");
  id = rb_str(profile, "id");
  if ((rc = profile_text(profile, "firstName", nbuf[0], 32, &first, res)) != REBATCH_OK ||
      (rc = profile_text(profile, "lastName", nbuf[1], 32, &last, res)) != REBATCH_OK ||
      (rc = profile_text(profile, "email", nbuf[2], 32, &email, res)) != REBATCH_OK ||
      (rc = password_hash(body, &hash, res)) != REBATCH_OK)
    return rc;
  if (!whitelisted_id(id))
    return rb_error(res, 500, "ProcessEngineException", 0,
                    "User has an invalid id: '%s' is not a valid resource identifier.", id);
  if (strlen(id) > REBATCH_ID_MAX)
    return rb_invalid(res, 400, "User id '%.64s...' is longer than %d characters", id, REBATCH_ID_MAX);
  if ((rc = rb_load(e, USER, id, &doc)) != REBATCH_OK) return rc;
  if (doc.json) {
    rb_doc_clear(&doc);
    return rb_error(res, 500, "ProcessEngineException", 0,
                    "ENGINE-03004 Exception while executing Database Operation 'INSERT UserEntity[%s]' "
                    "with message 'a user with id '%s' already exists'",
                    id, id);
  }
  rb_doc_clear(&doc);
  if (!(record = new_user(id, first, last, email, hash))) return REBATCH_NOMEM;
  if ((rc = rb_doc_init(&doc, id, record)) != REBATCH_OK) return rc;
  rc = rb_save(e, USER, &doc, NULL, 0);
  rb_doc_clear(&doc);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

static int load_user(rebatch_engine *e, const cJSON *request, rb_doc *doc, rb_response *res) {
  const char *id = rb_str(request, "id");
  int rc = rb_load(e, USER, id ? id : "", doc);
  if (rc == REBATCH_OK && !doc->json) {
    rb_doc_clear(doc);
    return rb_not_found(res, "InvalidRequestException", "User with id %s does not exist", id ? id : "null");
  }
  return rc;
}

/* UserResourceImpl.updateCredentials once the authenticated user's own
 * password is checked (the host does that): 404 for an unknown user; a
 * null password leaves it unchanged, as UserEntity.encryptPassword. */
int rb_op_updateUserCredentials(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const cJSON *body = cJSON_GetObjectItemCaseSensitive(request, "body");
  const char *hash = NULL;
  rb_doc doc;
  int rc = load_user(e, request, &doc, res);
  if (rc != REBATCH_OK) return rc;
  rc = password_hash(body, &hash, res);
  if (rc == REBATCH_OK && hash) {
    rc = rb_set_str(doc.json, "passwordHash", hash) ? rb_save(e, USER, &doc, NULL, 0) : REBATCH_NOMEM;
  }
  rb_doc_clear(&doc);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* DbIdentityServiceProvider.deleteUser: an unknown id is no error. */
int rb_op_deleteUser(rebatch_engine *e, const cJSON *request, rb_response *res) {
  const char *id = rb_str(request, "id");
  rb_doc doc;
  int rc = rb_load(e, USER, id ? id : "", &doc);
  if (rc == REBATCH_OK && doc.json) rc = rb_delete(e, USER, &doc);
  rb_doc_clear(&doc);
  return rc == REBATCH_OK ? rb_ok(res, 204, NULL) : rc;
}

/* The stored hash, for the host's password check only. */
int rb_op_getUserCredentials(rebatch_engine *e, const cJSON *request, rb_response *res) {
  cJSON *body;
  rb_doc doc;
  int rc = load_user(e, request, &doc, res);
  if (rc != REBATCH_OK) return rc;
  body = cJSON_CreateObject();
  if (!body || !rb_copy(body, doc.json, "id") || !rb_copy(body, doc.json, "passwordHash")) {
    cJSON_Delete(body);
    body = NULL;
    rc = REBATCH_NOMEM;
  }
  rb_doc_clear(&doc);
  return rc == REBATCH_OK ? rb_ok(res, 200, body) : rc;
}

/* ---- queries ------------------------------------------------------------ */

static cJSON *user_to_dto(rebatch_engine *e, const cJSON *r) {
  static const char *const fields[] = {"id", "firstName", "lastName", "email", NULL};
  (void)e;
  return rb_dto(r, fields);
}

/* UserQueryDto's parameters; there are no groups, tenants or process
 * definition authorizations, so the filters naming one match nobody. */
static const rb_filter user_filters[] = {
    {"id", RB_F_EQ, "id", NULL, 0},
    {"idIn", RB_F_IN, "id", NULL, 0},
    {"firstName", RB_F_EQ, "firstName", NULL, 0},
    {"firstNameLike", RB_F_LIKE, "firstName", NULL, 0},
    {"lastName", RB_F_EQ, "lastName", NULL, 0},
    {"lastNameLike", RB_F_LIKE, "lastName", NULL, 0},
    {"email", RB_F_EQ, "email", NULL, 0},
    {"emailLike", RB_F_LIKE, "email", NULL, 0},
    {"memberOfGroup", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"memberOfTenant", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {"potentialStarter", RB_F_VALUE, NULL, rb_pred_nothing, 0},
    {NULL, RB_F_EQ, NULL, NULL, 0}};

static const rb_sort_key user_sorts[] = {
    {"userId", "id"}, {"firstName", "firstName"}, {"lastName", "lastName"}, {"email", "email"},
    {NULL, NULL}};

static const rb_query user_query = {USER, user_filters, user_sorts, user_to_dto};

int rb_op_getUsers(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_list(e, &user_query, request, res);
}

int rb_op_getUsersCount(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_query_count(e, &user_query, request, res);
}

int rb_op_getUserProfile(rebatch_engine *e, const cJSON *request, rb_response *res) {
  return rb_get_by_id(e, USER, request, user_to_dto, "User with id %s does not exist", res);
}
