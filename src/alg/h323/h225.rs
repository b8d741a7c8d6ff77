//! The H.225.0 types the ALG walks (ITU-T H.225.0, H323-MESSAGES module): the call-signalling
//! `H323-UserInformation` carried in Q.931's user-user element, and the RAS messages. Marked:
//! `h245Address`, the fast-start `OpenLogicalChannel`s and tunnelled H.245 messages (walked as
//! H.245), Facility's reason and alternative address, and RAS's call-signalling and RAS
//! addresses and time to live.

use super::h245;
use super::per::{Choice, Field, Mark, Role, SKIP, Seq, Slot, Ty, f, marked, opt};

const BOOL: Ty = Ty::Bool;
const NULL: Ty = Ty::Null;
const U8: Ty = Ty::Int(0, Some(255));
const U16: Ty = Ty::Int(0, Some(65535));
const SEQ_NUM: Ty = Ty::Int(1, Some(65535));
const OCTETS: Ty = Ty::Octets(0, None);
const GUID: Ty = Ty::Octets(16, Some(16));
/// BMPString (SIZE(1..128)): gatekeeper and endpoint identifiers.
const IDENTIFIER: Ty = Ty::Chars {
    bits: 16,
    lb: 1,
    ub: Some(128),
};

const fn null(name: &'static str) -> Field {
    f(name, NULL)
}

// ---- Common types -------------------------------------------------------------------------

const H221_NON_STANDARD: Seq = Seq {
    ext: true,
    root: &[
        f("t35CountryCode", U8),
        f("t35Extension", U8),
        f("manufacturerCode", U16),
    ],
    adds: &[],
};
const NON_STANDARD_IDENTIFIER: Choice = Choice {
    ext: true,
    root: &[
        f("object", Ty::Oid),
        f("h221NonStandard", Ty::Seq(&H221_NON_STANDARD)),
    ],
    adds: &[],
};
const NON_STANDARD_PARAMETER: Seq = Seq {
    ext: false,
    root: &[
        f(
            "nonStandardIdentifier",
            Ty::Choice(&NON_STANDARD_IDENTIFIER),
        ),
        f("data", OCTETS),
    ],
    adds: &[],
};
const NON_STANDARD: Ty = Ty::Seq(&NON_STANDARD_PARAMETER);

const IP_ADDRESS: Seq = Seq {
    ext: false,
    root: &[
        marked("ip", Ty::Octets(4, Some(4)), false, Mark::Ip),
        marked("port", U16, false, Mark::Port),
    ],
    adds: &[],
};
const ROUTING: Choice = Choice {
    ext: true,
    root: &[null("strict"), null("loose")],
    adds: &[],
};
const IP_SOURCE_ROUTE: Seq = Seq {
    ext: true,
    root: &[
        f("ip", Ty::Octets(4, Some(4))),
        f("port", U16),
        f("route", Ty::SeqOf(0, None, &Ty::Octets(4, Some(4)))),
        f("routing", Ty::Choice(&ROUTING)),
    ],
    adds: &[],
};
const IPX_ADDRESS: Seq = Seq {
    ext: false,
    root: &[
        f("node", Ty::Octets(6, Some(6))),
        f("netnum", Ty::Octets(4, Some(4))),
        f("port", Ty::Octets(2, Some(2))),
    ],
    adds: &[],
};
const IP6_ADDRESS: Seq = Seq {
    ext: true,
    root: &[
        marked("ip", Ty::Octets(16, Some(16)), false, Mark::Ip),
        marked("port", U16, false, Mark::Port),
    ],
    adds: &[],
};
const TRANSPORT_ADDRESS: Choice = Choice {
    ext: true,
    root: &[
        f("ipAddress", Ty::Seq(&IP_ADDRESS)),
        f("ipSourceRoute", Ty::Seq(&IP_SOURCE_ROUTE)),
        f("ipxAddress", Ty::Seq(&IPX_ADDRESS)),
        f("ip6Address", Ty::Seq(&IP6_ADDRESS)),
        f("netBios", Ty::Octets(16, Some(16))),
        f("nsap", Ty::Octets(1, Some(20))),
        f("nonStandardAddress", NON_STANDARD),
    ],
    adds: &[],
};
const TA: Ty = Ty::Choice(&TRANSPORT_ADDRESS);

const ALIAS_ADDRESS: Choice = Choice {
    ext: true,
    root: &[
        // IA5String (SIZE(1..128)) FROM ("0123456789#*,"): 13 characters, 4 bits each.
        f(
            "dialedDigits",
            Ty::Chars {
                bits: 4,
                lb: 1,
                ub: Some(128),
            },
        ),
        f(
            "h323-ID",
            Ty::Chars {
                bits: 16,
                lb: 1,
                ub: Some(256),
            },
        ),
    ],
    adds: &[],
};
const ALIASES: Ty = Ty::SeqOf(0, None, &Ty::Choice(&ALIAS_ADDRESS));

const VENDOR_IDENTIFIER: Seq = Seq {
    ext: true,
    root: &[
        f("vendor", Ty::Seq(&H221_NON_STANDARD)),
        opt("productId", Ty::Octets(1, Some(256))),
        opt("versionId", Ty::Octets(1, Some(256))),
    ],
    adds: &[],
};
/// GatekeeperInfo, TerminalInfo, McuInfo and the H.310..T.120 capabilities share this root.
const NON_STANDARD_ONLY: Seq = Seq {
    ext: true,
    root: &[opt("nonStandardData", NON_STANDARD)],
    adds: &[],
};
const SUPPORTED_PROTOCOLS: Choice = Choice {
    ext: true,
    root: &[
        f("nonStandardData", NON_STANDARD),
        f("h310", Ty::Seq(&NON_STANDARD_ONLY)),
        f("h320", Ty::Seq(&NON_STANDARD_ONLY)),
        f("h321", Ty::Seq(&NON_STANDARD_ONLY)),
        f("h322", Ty::Seq(&NON_STANDARD_ONLY)),
        f("h323", Ty::Seq(&NON_STANDARD_ONLY)),
        f("h324", Ty::Seq(&NON_STANDARD_ONLY)),
        f("voice", Ty::Seq(&NON_STANDARD_ONLY)),
        f("t120-only", Ty::Seq(&NON_STANDARD_ONLY)),
    ],
    adds: &[],
};
const GATEWAY_INFO: Seq = Seq {
    ext: true,
    root: &[
        opt(
            "protocol",
            Ty::SeqOf(0, None, &Ty::Choice(&SUPPORTED_PROTOCOLS)),
        ),
        opt("nonStandardData", NON_STANDARD),
    ],
    adds: &[],
};
const ENDPOINT_TYPE: Seq = Seq {
    ext: true,
    root: &[
        opt("nonStandardData", NON_STANDARD),
        opt("vendor", Ty::Seq(&VENDOR_IDENTIFIER)),
        opt("gatekeeper", Ty::Seq(&NON_STANDARD_ONLY)),
        opt("gateway", Ty::Seq(&GATEWAY_INFO)),
        opt("mcu", Ty::Seq(&NON_STANDARD_ONLY)),
        opt("terminal", Ty::Seq(&NON_STANDARD_ONLY)),
        f("mc", BOOL),
        f("undefinedNode", BOOL),
    ],
    adds: &[],
};
const ENDPOINT: Ty = Ty::Seq(&ENDPOINT_TYPE);

/// `fastStart`: SEQUENCE OF OCTET STRING, each an encoded OpenLogicalChannel.
const FAST_START: Ty = Ty::SeqOf(0, None, &Ty::Contains(&h245::OLC));
const fn h245_address() -> Field {
    marked("h245Address", TA, true, Mark::Addr(Role::H245))
}

// ---- Call signalling (the UUIE bodies) ------------------------------------------------------

const CONFERENCE_GOAL: Choice = Choice {
    ext: true,
    root: &[null("create"), null("join"), null("invite")],
    adds: &[],
};
const Q954_DETAILS: Seq = Seq {
    ext: true,
    root: &[f("conferenceCalling", BOOL), f("threePartyService", BOOL)],
    adds: &[],
};
const QSERIES_OPTIONS: Seq = Seq {
    ext: true,
    root: &[
        f("q932Full", BOOL),
        f("q951Full", BOOL),
        f("q952Full", BOOL),
        f("q953Full", BOOL),
        f("q955Full", BOOL),
        f("q956Full", BOOL),
        f("q957Full", BOOL),
        f("q954Info", Ty::Seq(&Q954_DETAILS)),
    ],
    adds: &[],
};
const CALL_TYPE: Choice = Choice {
    ext: true,
    root: &[
        null("pointToPoint"),
        null("oneToN"),
        null("nToOne"),
        null("nToN"),
    ],
    adds: &[],
};

const SETUP: Seq = Seq {
    ext: true,
    root: &[
        f("protocolIdentifier", Ty::Oid),
        h245_address(),
        opt("sourceAddress", ALIASES),
        f("sourceInfo", ENDPOINT),
        opt("destinationAddress", ALIASES),
        opt("destCallSignalAddress", TA),
        opt("destExtraCallInfo", ALIASES),
        opt("destExtraCRV", Ty::SeqOf(0, None, &U16)),
        f("activeMC", BOOL),
        f("conferenceID", GUID),
        f("conferenceGoal", Ty::Choice(&CONFERENCE_GOAL)),
        opt("callServices", Ty::Seq(&QSERIES_OPTIONS)),
        f("callType", Ty::Choice(&CALL_TYPE)),
    ],
    adds: &[
        SKIP, // sourceCallSignalAddress
        SKIP, // remoteExtensionAddress
        SKIP, // callIdentifier
        SKIP, // h245SecurityCapability
        SKIP, // tokens
        SKIP, // cryptoTokens
        f("fastStart", FAST_START),
    ],
};
/// CallProceeding, Alerting and Progress-like bodies: fastStart is addition 4.
const FAST_START_AT_4: [Field; 5] = [
    SKIP, // callIdentifier
    SKIP, // h245SecurityMode
    SKIP, // tokens
    SKIP, // cryptoTokens
    f("fastStart", FAST_START),
];
const CALL_PROCEEDING: Seq = Seq {
    ext: true,
    root: &[
        f("protocolIdentifier", Ty::Oid),
        f("destinationInfo", ENDPOINT),
        h245_address(),
    ],
    adds: &FAST_START_AT_4,
};
const CONNECT: Seq = Seq {
    ext: true,
    root: &[
        f("protocolIdentifier", Ty::Oid),
        h245_address(),
        f("destinationInfo", ENDPOINT),
        f("conferenceID", GUID),
    ],
    adds: &FAST_START_AT_4,
};
const ALERTING: Seq = Seq {
    ext: true,
    root: &[
        f("protocolIdentifier", Ty::Oid),
        f("destinationInfo", ENDPOINT),
        h245_address(),
    ],
    adds: &FAST_START_AT_4,
};
const INFORMATION: Seq = Seq {
    ext: true,
    root: &[f("protocolIdentifier", Ty::Oid)],
    adds: &[],
};
const RELEASE_COMPLETE_REASON: Choice = Choice {
    ext: true,
    root: &[
        null("noBandwidth"),
        null("gatekeeperResources"),
        null("unreachableDestination"),
        null("destinationRejection"),
        null("invalidRevision"),
        null("noPermission"),
        null("unreachableGatekeeper"),
        null("gatewayResources"),
        null("badFormatAddress"),
        null("adaptiveBusy"),
        null("inConf"),
        null("undefinedReason"),
    ],
    adds: &[],
};
const RELEASE_COMPLETE: Seq = Seq {
    ext: true,
    root: &[
        f("protocolIdentifier", Ty::Oid),
        opt("reason", Ty::Choice(&RELEASE_COMPLETE_REASON)),
    ],
    adds: &[],
};
/// FacilityReason: index 1 is callForwarded.
pub const REASON_CALL_FORWARDED: u16 = 1;
const FACILITY_REASON: Choice = Choice {
    ext: true,
    root: &[
        null("routeCallToGatekeeper"),
        null("callForwarded"),
        null("routeCallToMC"),
        null("undefinedReason"),
    ],
    adds: &[],
};
const FACILITY: Seq = Seq {
    ext: true,
    root: &[
        f("protocolIdentifier", Ty::Oid),
        marked(
            "alternativeAddress",
            TA,
            true,
            Mark::Addr(Role::Alternative),
        ),
        opt("alternativeAliasAddress", ALIASES),
        opt("conferenceID", GUID),
        marked(
            "reason",
            Ty::Choice(&FACILITY_REASON),
            false,
            Mark::Kind(Slot::Reason),
        ),
    ],
    adds: &[
        SKIP, // callIdentifier
        SKIP, // destExtraCallInfo
        SKIP, // remoteExtensionAddress
        SKIP, // tokens
        SKIP, // cryptoTokens
        SKIP, // conferences
        h245_address(),
        f("fastStart", FAST_START),
    ],
};
const CALL_IDENTIFIER: Seq = Seq {
    ext: true,
    root: &[f("guid", GUID)],
    adds: &[],
};
const PROGRESS: Seq = Seq {
    ext: true,
    root: &[
        f("protocolIdentifier", Ty::Oid),
        f("destinationInfo", ENDPOINT),
        h245_address(),
        f("callIdentifier", Ty::Seq(&CALL_IDENTIFIER)),
        // H.235 security and tokens are not modelled: a Progress carrying them is read up to
        // here (counted as partly read) and its fast start is missed.
        opt("h245SecurityMode", Ty::Unknown),
        opt("tokens", Ty::Unknown),
        opt("cryptoTokens", Ty::Unknown),
        opt("fastStart", FAST_START),
    ],
    adds: &[],
};

/// The H.225.0 message body's alternatives (its choice index).
pub mod body {
    pub const SETUP: u16 = 0;
    pub const CALL_PROCEEDING: u16 = 1;
    pub const CONNECT: u16 = 2;
    pub const ALERTING: u16 = 3;
    pub const INFORMATION: u16 = 4;
    pub const RELEASE_COMPLETE: u16 = 5;
    pub const FACILITY: u16 = 6;
    pub const PROGRESS: u16 = 7;
}

const MESSAGE_BODY: Choice = Choice {
    ext: true,
    root: &[
        f("setup", Ty::Seq(&SETUP)),
        f("callProceeding", Ty::Seq(&CALL_PROCEEDING)),
        f("connect", Ty::Seq(&CONNECT)),
        f("alerting", Ty::Seq(&ALERTING)),
        f("information", Ty::Seq(&INFORMATION)),
        f("releaseComplete", Ty::Seq(&RELEASE_COMPLETE)),
        f("facility", Ty::Seq(&FACILITY)),
    ],
    adds: &[f("progress", Ty::Seq(&PROGRESS))],
};
const UU_PDU: Seq = Seq {
    ext: true,
    root: &[
        marked(
            "h323-message-body",
            Ty::Choice(&MESSAGE_BODY),
            false,
            Mark::Kind(Slot::Message),
        ),
        opt("nonStandardData", NON_STANDARD),
    ],
    adds: &[
        SKIP, // h4501SupplementaryService
        SKIP, // h245Tunneling
        f(
            "h245Control",
            Ty::SeqOf(0, None, &Ty::Contains(&h245::MESSAGE)),
        ),
    ],
};
const USER_INFORMATION: Seq = Seq {
    ext: true,
    root: &[
        f("h323-uu-pdu", Ty::Seq(&UU_PDU)),
        opt("user-data", Ty::Stop),
    ],
    adds: &[],
};
/// H323-UserInformation, the content of Q.931's user-user information element.
pub const USER_INFO: Ty = Ty::Seq(&USER_INFORMATION);

// ---- RAS ----------------------------------------------------------------------------------

/// RasMessage's alternatives the ALG acts on (its choice index).
pub mod ras {
    pub const GCF: u16 = 1;
    pub const RRQ: u16 = 3;
    pub const RCF: u16 = 4;
    pub const URQ: u16 = 6;
    pub const ACF: u16 = 10;
    pub const LCF: u16 = 19;
}

const GATEKEEPER_CONFIRM: Seq = Seq {
    ext: true,
    root: &[
        f("requestSeqNum", SEQ_NUM),
        f("protocolIdentifier", Ty::Oid),
        opt("nonStandardData", NON_STANDARD),
        opt("gatekeeperIdentifier", IDENTIFIER),
        marked("rasAddress", TA, false, Mark::Addr(Role::Ras)),
    ],
    adds: &[],
};
const CALL_SIGNAL_ADDRESSES: Ty =
    Ty::SeqOf(0, None, &Ty::Choice(&TRANSPORT_ADDRESS_CALL_SIGNAL_ITEM));
/// A list item of call-signalling addresses: the alternative's own marks give IP and port; the
/// item mark is on the list's element type below.
const TRANSPORT_ADDRESS_CALL_SIGNAL_ITEM: Choice = Choice {
    ext: true,
    root: &[
        marked(
            "ipAddress",
            Ty::Seq(&IP_ADDRESS),
            false,
            Mark::Addr(Role::CallSignal),
        ),
        f("ipSourceRoute", Ty::Seq(&IP_SOURCE_ROUTE)),
        f("ipxAddress", Ty::Seq(&IPX_ADDRESS)),
        marked(
            "ip6Address",
            Ty::Seq(&IP6_ADDRESS),
            false,
            Mark::Addr(Role::CallSignal),
        ),
        f("netBios", Ty::Octets(16, Some(16))),
        f("nsap", Ty::Octets(1, Some(20))),
        f("nonStandardAddress", NON_STANDARD),
    ],
    adds: &[],
};
const TIME_TO_LIVE: Ty = Ty::Int(1, Some(u32::MAX));
const REGISTRATION_REQUEST: Seq = Seq {
    ext: true,
    root: &[
        f("requestSeqNum", SEQ_NUM),
        f("protocolIdentifier", Ty::Oid),
        opt("nonStandardData", NON_STANDARD),
        f("discoveryComplete", BOOL),
        f("callSignalAddress", CALL_SIGNAL_ADDRESSES),
        f("rasAddress", Ty::SeqOf(0, None, &TA)),
        f("terminalType", ENDPOINT),
        opt("terminalAlias", ALIASES),
        opt("gatekeeperIdentifier", IDENTIFIER),
        f("endpointVendor", Ty::Seq(&VENDOR_IDENTIFIER)),
    ],
    adds: &[
        SKIP, // alternateEndpoints
        marked("timeToLive", TIME_TO_LIVE, false, Mark::TimeToLive),
    ],
};
const REGISTRATION_CONFIRM: Seq = Seq {
    ext: true,
    root: &[
        f("requestSeqNum", SEQ_NUM),
        f("protocolIdentifier", Ty::Oid),
        opt("nonStandardData", NON_STANDARD),
        f("callSignalAddress", Ty::SeqOf(0, None, &TA)),
        opt("terminalAlias", ALIASES),
        opt("gatekeeperIdentifier", IDENTIFIER),
        f("endpointIdentifier", IDENTIFIER),
    ],
    adds: &[
        SKIP, // alternateGatekeeper
        marked("timeToLive", TIME_TO_LIVE, false, Mark::TimeToLive),
    ],
};
const CALL_MODEL: Choice = Choice {
    ext: true,
    root: &[null("direct"), null("gatekeeperRouted")],
    adds: &[],
};
const ADMISSION_CONFIRM: Seq = Seq {
    ext: true,
    root: &[
        f("requestSeqNum", SEQ_NUM),
        f("bandWidth", Ty::Int(0, Some(u32::MAX))),
        f("callModel", Ty::Choice(&CALL_MODEL)),
        marked(
            "destCallSignalAddress",
            TA,
            false,
            Mark::Addr(Role::CallSignal),
        ),
        opt("irrFrequency", Ty::Stop),
        opt("nonStandardData", Ty::Stop),
    ],
    adds: &[],
};
const LOCATION_CONFIRM: Seq = Seq {
    ext: true,
    root: &[
        f("requestSeqNum", SEQ_NUM),
        marked("callSignalAddress", TA, false, Mark::Addr(Role::CallSignal)),
        f("rasAddress", TA),
        opt("nonStandardData", Ty::Stop),
    ],
    adds: &[],
};
const RAS_MESSAGE: Choice = Choice {
    ext: true,
    root: &[
        f("gatekeeperRequest", Ty::Stop),
        f("gatekeeperConfirm", Ty::Seq(&GATEKEEPER_CONFIRM)),
        f("gatekeeperReject", Ty::Stop),
        f("registrationRequest", Ty::Seq(&REGISTRATION_REQUEST)),
        f("registrationConfirm", Ty::Seq(&REGISTRATION_CONFIRM)),
        f("registrationReject", Ty::Stop),
        f("unregistrationRequest", Ty::Stop),
        f("unregistrationConfirm", Ty::Stop),
        f("unregistrationReject", Ty::Stop),
        f("admissionRequest", Ty::Stop),
        f("admissionConfirm", Ty::Seq(&ADMISSION_CONFIRM)),
        f("admissionReject", Ty::Stop),
        f("bandwidthRequest", Ty::Stop),
        f("bandwidthConfirm", Ty::Stop),
        f("bandwidthReject", Ty::Stop),
        f("disengageRequest", Ty::Stop),
        f("disengageConfirm", Ty::Stop),
        f("disengageReject", Ty::Stop),
        f("locationRequest", Ty::Stop),
        f("locationConfirm", Ty::Seq(&LOCATION_CONFIRM)),
        f("locationReject", Ty::Stop),
        f("infoRequest", Ty::Stop),
        f("infoRequestResponse", Ty::Stop),
        f("nonStandardMessage", Ty::Stop),
        f("unknownMessageResponse", Ty::Stop),
    ],
    adds: &[],
};
/// A RAS message (one UDP datagram), walked with `Mark::Kind(Slot::Message)`.
pub const RAS: Ty = Ty::Choice(&RAS_MESSAGE);
