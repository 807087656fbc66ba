// Passkeys and security keys: the one place the console needs a browser API. A form with
// data-webauthn="create" or "get" carries the server's options (JSON, base64url fields) in
// data-options; on submit the browser asks the authenticator, and the form is sent with its
// answer (JSON) in the hidden field named by data-field.
"use strict";

(function () {
  function fromB64url(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
  }

  // The server's options as the browser API takes them.
  function creationOptions(pk) {
    var o = Object.assign({}, pk, { challenge: fromB64url(pk.challenge) });
    o.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) });
    o.excludeCredentials = withIds(pk.excludeCredentials);
    return o;
  }

  function requestOptions(pk) {
    var o = Object.assign({}, pk, { challenge: fromB64url(pk.challenge) });
    o.allowCredentials = withIds(pk.allowCredentials);
    return o;
  }

  // The credential as JSON, the way the server reads it.
  function credentialJson(cred) {
    if (typeof cred.toJSON === "function") return JSON.stringify(cred.toJSON());
    var r = cred.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) response.userHandle = toB64url(r.userHandle);
    }
    return JSON.stringify({
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    });
  }

  function explain(form, text) {
    var p = form.querySelector("[data-webauthn-error]");
    if (p) {
      p.textContent = text;
      p.hidden = false;
    }
  }

  function ceremony(form, event) {
    event.preventDefault();
    if (!window.PublicKeyCredential || !navigator.credentials) {
      explain(form, "This browser does not support passkeys or security keys.");
      return;
    }
    var options;
    try {
      options = JSON.parse(form.dataset.options).publicKey;
    } catch (e) {
      explain(form, "The page is incomplete. Reload it and try again.");
      return;
    }
    var kind = form.dataset.webauthn;
    var asked = kind === "create"
      ? navigator.credentials.create({ publicKey: creationOptions(options) })
      : navigator.credentials.get({ publicKey: requestOptions(options) });
    asked.then(function (cred) {
      form.querySelector('input[name="' + form.dataset.field + '"]').value = credentialJson(cred);
      form.submit();
    }, function (e) {
      var why = e && e.name === "NotAllowedError"
        ? "The request was cancelled or timed out. Try again."
        : e && e.name === "SecurityError"
          ? "Passkeys need the console to be opened at its configured address (a host name such as localhost, not an IP address)."
          : "Your passkey or security key could not be used" + (e && e.message ? ": " + e.message : ".");
      explain(form, why);
    });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.addEventListener("submit", function (event) { ceremony(form, event); });
  });
})();
