import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore

/// The OpenID Connect provider accounts may sign in with (`OIDC_ISSUER`, `OIDC_CLIENT_ID`,
/// `OIDC_CLIENT_SECRET`).
public struct OpenIDSettings: Sendable {
    /// Compared with the ID token's `iss` exactly, so written as the provider writes it.
    public var issuer: String
    public var clientID: String
    public var clientSecret: String

    public init(issuer: String, clientID: String, clientSecret: String) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
    }
}

/// Why a sign-in through the provider failed: the provider could not be asked (502), or what it
/// answered does not prove who the user is (400).
enum OpenIDFailure: Error, Equatable {
    case unavailable(String)
    case refused(String)
}

/// A user the provider vouches for, read from a verified ID token.
struct VerifiedIdentity: Sendable, Equatable {
    var subject: String
    /// Only an address the provider verified: an unverified one could be anybody's.
    var verifiedEmail: String?
    var name: String?
}

/// What the API asks of the provider: its discovery document, the code exchange at its token
/// endpoint, and its signing keys. The document and the keys are cached; the keys are fetched
/// again when a token names a key not seen yet (the provider rotated them).
actor OpenIDProvider {
    let settings: OpenIDSettings
    private let http: HTTPClient
    private var metadata: (document: ProviderMetadata, fetched: ContinuousClock.Instant)?
    private var keys: (collection: JWTKeyCollection, ids: Set<String>, fetched: ContinuousClock.Instant)?
    static let metadataLifetime = Duration.seconds(3600)
    /// A token with an unknown key id makes the keys be fetched again, at most this often: a
    /// rotated key works within seconds, and tokens with made-up key ids cannot make every
    /// request fetch the keys.
    static let keyRefetchInterval = Duration.seconds(10)
    /// Clocks of the provider and of this server differ a little.
    static let leeway: TimeInterval = 120
    static let timeout = TimeAmount.seconds(10)
    /// Asymmetric algorithms only: `none` and HMAC (keyed with the public key) never pass.
    static let algorithms: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

    init(settings: OpenIDSettings, http: HTTPClient) {
        self.settings = settings
        self.http = http
    }

    /// The endpoint the browser is sent to.
    func authorizationEndpoint() async throws(OpenIDFailure) -> String {
        try await document().authorizationEndpoint
    }

    /// Exchanges an authorization code (with its PKCE verifier) for the verified identity of the
    /// user; `nonce` must be the one the authorization request carried.
    func identity(code: String, verifier: String, redirectURI: String, nonce: String) async throws(OpenIDFailure) -> VerifiedIdentity {
        let idToken = try await exchange(code: code, verifier: verifier, redirectURI: redirectURI)
        return try await verify(idToken, nonce: nonce)
    }

    // MARK: Discovery

    struct ProviderMetadata: Decodable {
        var issuer: String
        var authorizationEndpoint: String
        var tokenEndpoint: String
        var jwksURI: String
        var tokenEndpointAuthMethods: [String]?
        var signingAlgorithms: [String]?

        enum CodingKeys: String, CodingKey {
            case issuer
            case authorizationEndpoint = "authorization_endpoint", tokenEndpoint = "token_endpoint", jwksURI = "jwks_uri"
            case tokenEndpointAuthMethods = "token_endpoint_auth_methods_supported"
            case signingAlgorithms = "id_token_signing_alg_values_supported"
        }
    }

    private func document() async throws(OpenIDFailure) -> ProviderMetadata {
        let now = ContinuousClock.now
        if let metadata, now - metadata.fetched < Self.metadataLifetime { return metadata.document }
        let url = settings.issuer.trimmingSuffix("/") + "/.well-known/openid-configuration"
        let document: ProviderMetadata = try await getJSON(url)
        // OpenID Connect Discovery 1.0, section 4.3: a document naming another issuer is not this provider's.
        guard document.issuer == settings.issuer else {
            throw .unavailable("the discovery document names the issuer '\(document.issuer)', not OIDC_ISSUER '\(settings.issuer)'")
        }
        metadata = (document, now)
        return document
    }

    // MARK: The code exchange

    struct TokenResponse: Decodable {
        var idToken: String?
        enum CodingKeys: String, CodingKey { case idToken = "id_token" }
    }

    struct TokenError: Decodable {
        var error: String
        var errorDescription: String?
        enum CodingKeys: String, CodingKey { case error, errorDescription = "error_description" }
    }

    private func exchange(code: String, verifier: String, redirectURI: String) async throws(OpenIDFailure) -> String {
        let document = try await document()
        var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier)]
        var request = HTTPClientRequest(url: document.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // client_secret_basic is the default (OpenID Connect Discovery); _post when it is all the provider takes.
        let methods = document.tokenEndpointAuthMethods ?? ["client_secret_basic"]
        if methods.contains("client_secret_basic") || !methods.contains("client_secret_post") {
            let credentials = Self.formEncoded(settings.clientID) + ":" + Self.formEncoded(settings.clientSecret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        } else {
            form += [("client_id", settings.clientID), ("client_secret", settings.clientSecret)]
        }
        request.body = .bytes(ByteBuffer(string: form.map { Self.formEncoded($0) + "=" + Self.formEncoded($1) }.joined(separator: "&")))
        let (status, body) = try await send(request)
        guard (200..<300).contains(status) else {
            guard (400..<500).contains(status) else { throw .unavailable("the token endpoint answered \(status)") }
            let reason = (try? JSONDecoder().decode(TokenError.self, from: body)).map { [$0.error, $0.errorDescription].compactMap { $0 }.joined(separator: ": ") }
            throw .refused("the provider refused the code (\(reason ?? "status \(status)"))")
        }
        guard let response = try? JSONDecoder().decode(TokenResponse.self, from: body) else {
            throw .unavailable("the token endpoint's answer is not a token response")
        }
        guard let idToken = response.idToken else { throw .refused("the provider sent no ID token; is the scope 'openid' allowed for this client?") }
        return idToken
    }

    // MARK: The ID token

    struct IDTokenClaims: JWTIdentityToken {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var nonce: String?
        var azp: String?
        var email: String?
        var emailVerified: BoolClaim?
        var name: String?

        var audience: AudienceClaim { aud }

        enum CodingKeys: String, CodingKey {
            case iss, sub, aud, exp, iat, nonce, azp, email, name
            case emailVerified = "email_verified"
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {
            let now = Date()
            try exp.verifyNotExpired(currentDate: now.addingTimeInterval(-OpenIDProvider.leeway))
            guard iat.value <= now.addingTimeInterval(OpenIDProvider.leeway) else {
                throw JWTError.claimVerificationFailure(failedClaim: iat, reason: "issued in the future")
            }
        }
    }

    struct Header: Decodable {
        var alg: String
        var kid: String?
    }

    /// OpenID Connect Core 1.0, 3.1.3.7: the signature with one of the provider's keys, then
    /// `iss`, `aud` (with `azp`), `exp`, `iat` and `nonce`.
    func verify(_ idToken: String, nonce: String) async throws(OpenIDFailure) -> VerifiedIdentity {
        let header = try Self.header(of: idToken)
        let allowed = Self.algorithms.intersection(try await document().signingAlgorithms ?? ["RS256"])
        guard allowed.contains(header.alg) else { throw .refused("the ID token is signed with \(header.alg), which is not accepted") }
        let collection = try await keyCollection(including: header.kid)
        let claims: IDTokenClaims
        do {
            claims = try await collection.verify(idToken, as: IDTokenClaims.self, expectedAudience: settings.clientID)
        } catch {
            throw .refused("the ID token does not verify: \(error)")
        }
        try check(claims, nonce: nonce)
        return VerifiedIdentity(subject: claims.sub.value, verifiedEmail: claims.emailVerified?.value == true ? claims.email : nil,
                                name: claims.name)
    }

    private func check(_ claims: IDTokenClaims, nonce: String) throws(OpenIDFailure) {
        guard claims.iss.value == settings.issuer else { throw .refused("the ID token comes from the issuer '\(claims.iss.value)'") }
        if let azp = claims.azp, azp != settings.clientID { throw .refused("the ID token was issued to another client (azp)") }
        guard let sent = claims.nonce, Self.constantTimeEqual(sent, nonce) else { throw .refused("the ID token's nonce is not this sign-in's") }
        guard !claims.sub.value.isEmpty else { throw .refused("the ID token names no subject") }
    }

    static func header(of token: String) throws(OpenIDFailure) -> Header {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Data(base64URLEncoded: String(parts[0])),
              let header = try? JSONDecoder().decode(Header.self, from: data)
        else { throw .refused("the ID token is not a signed JWT") }
        return header
    }

    /// The provider's keys, fetched again when `keyID` is not among them (keys rotate).
    private func keyCollection(including keyID: String?) async throws(OpenIDFailure) -> JWTKeyCollection {
        let now = ContinuousClock.now
        if let keys, keyID.map(keys.ids.contains) ?? true { return keys.collection }
        if let keys, now - keys.fetched < Self.keyRefetchInterval { return keys.collection }
        let jwks: JWKS = try await getJSON(try await document().jwksURI)
        let collection = JWTKeyCollection()
        var ids: Set<String> = []
        for key in jwks.keys {
            // Keys for encryption, or of a type jwt-kit cannot use, are skipped.
            guard let id = key.keyIdentifier, (try? await collection.add(jwk: key)) != nil else { continue }
            ids.insert(id.string)
        }
        guard !ids.isEmpty else { throw .unavailable("the provider's key set has no usable signing key") }
        keys = (collection, ids, now)
        if let keyID, !ids.contains(keyID) { throw .refused("the ID token is signed with a key the provider does not list") }
        return collection
    }

    // MARK: HTTP

    private func getJSON<T: Decodable>(_ url: String) async throws(OpenIDFailure) -> T {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let (status, body) = try await send(request)
        guard status == 200 else { throw .unavailable("\(url) answered \(status)") }
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch {
            throw .unavailable("\(url) did not answer the expected JSON: \(error)")
        }
    }

    private func send(_ request: HTTPClientRequest) async throws(OpenIDFailure) -> (status: UInt, body: Data) {
        do {
            let response = try await http.execute(request, timeout: Self.timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, Data(body.readableBytesView))
        } catch {
            throw .unavailable("\(request.url): \(error)")
        }
    }

    /// `application/x-www-form-urlencoded`, which client_secret_basic uses for the id and secret too (RFC 6749, 2.3.1).
    static func formEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        guard left.utf8.count == right.utf8.count else { return false }
        return zip(left.utf8, right.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
