import Foundation
import Testing
@testable import TodoWeb

/// The browser's half of single sign-on: the values the flow's cookie carries.
@Suite struct SingleSignOnFlowTests {
    @Test func theChallengeIsS256OfTheVerifierAsInRFC7636() {
        let flow = SingleSignOnFlow(state: "s", nonce: "n", verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", next: "/")
        #expect(flow.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test func theCookieCarriesTheFlowAndNothingElseReadsAsOne() {
        let flow = SingleSignOnFlow.begin(next: "/settings")
        #expect(SingleSignOnFlow(cookieValue: flow.cookieValue) == flow)
        #expect(flow.state != flow.nonce && flow.nonce != flow.verifier && flow.verifier.count >= 43)
        #expect(SingleSignOnFlow(cookieValue: "not-a-flow") == nil)
        #expect(SingleSignOnFlow(cookieValue: "") == nil)
    }
}
