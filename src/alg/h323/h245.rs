//! The H.245 types the ALG walks (ITU-T H.245, MULTIMEDIA-SYSTEM-CONTROL module), down to the
//! fields that announce media: `OpenLogicalChannel` and `OpenLogicalChannelAck` with their
//! H.225.0 logical channel parameters (`mediaChannel`, `mediaControlChannel`) and the
//! separate stack of a T.120 data channel. Every other message is recognised by its choice
//! index and not read further.
//!
//! The root of `DataType` has to be modelled in full (it comes before the multiplex
//! parameters and carries no length): audio, video, data and encryption capabilities as
//! H.245 defines them; their extension alternatives are open types and are stepped over.

use super::per::{Choice, Field, Mark, Role, SKIP, Seq, Ty, f, marked, opt};

const BOOL: Ty = Ty::Bool;
const NULL: Ty = Ty::Null;
const U8: Ty = Ty::Int(0, Some(255));
const U16: Ty = Ty::Int(0, Some(65535));
const U32: Ty = Ty::Int(0, Some(u32::MAX));
const OCTETS: Ty = Ty::Octets(0, None);

const fn b(name: &'static str) -> Field {
    f(name, BOOL)
}

const fn null(name: &'static str) -> Field {
    f(name, NULL)
}

/// NonStandardIdentifier (not extensible in H.245).
const H221_NON_STANDARD: Seq = Seq {
    ext: false,
    root: &[
        f("t35CountryCode", U8),
        f("t35Extension", U8),
        f("manufacturerCode", U16),
    ],
    adds: &[],
};
const NON_STANDARD_IDENTIFIER: Choice = Choice {
    ext: false,
    root: &[
        f("object", Ty::Oid),
        f("h221NonStandard", Ty::Seq(&H221_NON_STANDARD)),
    ],
    adds: &[],
};
pub const NON_STANDARD_PARAMETER: Seq = Seq {
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

// ---- Transport addresses ----------------------------------------------------------------

const UNICAST_IP: Seq = Seq {
    ext: true,
    root: &[
        marked("network", Ty::Octets(4, Some(4)), false, Mark::Ip),
        marked("tsapIdentifier", U16, false, Mark::Port),
    ],
    adds: &[],
};
const IPX: Seq = Seq {
    ext: true,
    root: &[
        f("node", Ty::Octets(6, Some(6))),
        f("netnum", Ty::Octets(4, Some(4))),
        f("tsapIdentifier", Ty::Octets(2, Some(2))),
    ],
    adds: &[],
};
const UNICAST_IP6: Seq = Seq {
    ext: true,
    root: &[
        marked("network", Ty::Octets(16, Some(16)), false, Mark::Ip),
        marked("tsapIdentifier", U16, false, Mark::Port),
    ],
    adds: &[],
};
const ROUTING: Choice = Choice {
    ext: false,
    root: &[null("strict"), null("loose")],
    adds: &[],
};
const SOURCE_ROUTE: Seq = Seq {
    ext: true,
    root: &[
        f("routing", Ty::Choice(&ROUTING)),
        f("network", Ty::Octets(4, Some(4))),
        f("tsapIdentifier", U16),
        f("route", Ty::SeqOf(0, None, &Ty::Octets(4, Some(4)))),
    ],
    adds: &[],
};
const UNICAST_ADDRESS: Choice = Choice {
    ext: true,
    root: &[
        f("iPAddress", Ty::Seq(&UNICAST_IP)),
        f("iPXAddress", Ty::Seq(&IPX)),
        f("iP6Address", Ty::Seq(&UNICAST_IP6)),
        f("netBios", Ty::Octets(16, Some(16))),
        f("iPSourceRouteAddress", Ty::Seq(&SOURCE_ROUTE)),
    ],
    adds: &[],
};
/// Multicast needs no pinhole: its addresses are not marked (as the kernel, which skips them).
const MULTICAST_IP: Seq = Seq {
    ext: true,
    root: &[
        f("network", Ty::Octets(4, Some(4))),
        f("tsapIdentifier", U16),
    ],
    adds: &[],
};
const MULTICAST_IP6: Seq = Seq {
    ext: true,
    root: &[
        f("network", Ty::Octets(16, Some(16))),
        f("tsapIdentifier", U16),
    ],
    adds: &[],
};
const MULTICAST_ADDRESS: Choice = Choice {
    ext: true,
    root: &[
        f("iPAddress", Ty::Seq(&MULTICAST_IP)),
        f("iP6Address", Ty::Seq(&MULTICAST_IP6)),
    ],
    adds: &[],
};
pub const TRANSPORT_ADDRESS: Choice = Choice {
    ext: true,
    root: &[
        f("unicastAddress", Ty::Choice(&UNICAST_ADDRESS)),
        f("multicastAddress", Ty::Choice(&MULTICAST_ADDRESS)),
    ],
    adds: &[],
};
const TA: Ty = Ty::Choice(&TRANSPORT_ADDRESS);

// ---- DataType ---------------------------------------------------------------------------

const H261: Seq = Seq {
    ext: true,
    root: &[
        opt("qcifMPI", Ty::Int(1, Some(4))),
        opt("cifMPI", Ty::Int(1, Some(4))),
        b("temporalSpatialTradeOffCapability"),
        f("maxBitRate", Ty::Int(1, Some(19200))),
        b("stillImageTransmission"),
    ],
    adds: &[],
};
const H262: Seq = Seq {
    ext: true,
    root: &[
        b("profileAndLevel-SPatML"),
        b("profileAndLevel-MPatLL"),
        b("profileAndLevel-MPatML"),
        b("profileAndLevel-MPatH-14"),
        b("profileAndLevel-MPatHL"),
        b("profileAndLevel-SNRatLL"),
        b("profileAndLevel-SNRatML"),
        b("profileAndLevel-SpatialatH-14"),
        b("profileAndLevel-HPatML"),
        b("profileAndLevel-HPatH-14"),
        b("profileAndLevel-HPatHL"),
        opt("videoBitRate", Ty::Int(0, Some(1_073_741_823))),
        opt("vbvBufferSize", Ty::Int(0, Some(262_143))),
        opt("samplesPerLine", Ty::Int(0, Some(16383))),
        opt("linesPerFrame", Ty::Int(0, Some(16383))),
        opt("framesPerSecond", Ty::Int(0, Some(15))),
        opt("luminanceSampleRate", U32),
    ],
    adds: &[],
};
const MPI: Ty = Ty::Int(1, Some(32));
const H263: Seq = Seq {
    ext: true,
    root: &[
        opt("sqcifMPI", MPI),
        opt("qcifMPI", MPI),
        opt("cifMPI", MPI),
        opt("cif4MPI", MPI),
        opt("cif16MPI", MPI),
        f("maxBitRate", Ty::Int(1, Some(192_400))),
        b("unrestrictedVector"),
        b("arithmeticCoding"),
        b("advancedPrediction"),
        b("pbFrames"),
        b("temporalSpatialTradeOffCapability"),
        opt("hrd-B", Ty::Int(0, Some(524_287))),
        opt("bppMaxKb", U16),
    ],
    adds: &[],
};
const IS11172_VIDEO: Seq = Seq {
    ext: true,
    root: &[
        b("constrainedBitstream"),
        opt("videoBitRate", Ty::Int(0, Some(1_073_741_823))),
        opt("vbvBufferSize", Ty::Int(0, Some(262_143))),
        opt("samplesPerLine", Ty::Int(0, Some(16383))),
        opt("linesPerFrame", Ty::Int(0, Some(16383))),
        opt("pictureRate", Ty::Int(0, Some(15))),
        opt("luminanceSampleRate", U32),
    ],
    adds: &[],
};
const VIDEO_CAPABILITY: Choice = Choice {
    ext: true,
    root: &[
        f("nonStandard", NON_STANDARD),
        f("h261VideoCapability", Ty::Seq(&H261)),
        f("h262VideoCapability", Ty::Seq(&H262)),
        f("h263VideoCapability", Ty::Seq(&H263)),
        f("is11172VideoCapability", Ty::Seq(&IS11172_VIDEO)),
    ],
    adds: &[],
};

const FRAMES: Ty = Ty::Int(1, Some(256));
const G7231: Seq = Seq {
    ext: false,
    root: &[f("maxAl-sduAudioFrames", FRAMES), b("silenceSuppression")],
    adds: &[],
};
const IS11172_AUDIO: Seq = Seq {
    ext: true,
    root: &[
        b("audioLayer1"),
        b("audioLayer2"),
        b("audioLayer3"),
        b("audioSampling32k"),
        b("audioSampling44k1"),
        b("audioSampling48k"),
        b("singleChannel"),
        b("twoChannels"),
        f("bitRate", Ty::Int(1, Some(448))),
    ],
    adds: &[],
};
const IS13818_AUDIO: Seq = Seq {
    ext: true,
    root: &[
        b("audioLayer1"),
        b("audioLayer2"),
        b("audioLayer3"),
        b("audioSampling16k"),
        b("audioSampling22k05"),
        b("audioSampling24k"),
        b("audioSampling32k"),
        b("audioSampling44k1"),
        b("audioSampling48k"),
        b("singleChannel"),
        b("twoChannels"),
        b("threeChannels2-1"),
        b("threeChannels3-0"),
        b("fourChannels2-0-2-0"),
        b("fourChannels2-2"),
        b("fourChannels3-1"),
        b("fiveChannels3-0-2-0"),
        b("fiveChannels3-2"),
        b("lowFrequencyEnhancement"),
        b("multilingual"),
        f("bitRate", Ty::Int(1, Some(1130))),
    ],
    adds: &[],
};
const AUDIO_CAPABILITY: Choice = Choice {
    ext: true,
    root: &[
        f("nonStandard", NON_STANDARD),
        f("g711Alaw64k", FRAMES),
        f("g711Alaw56k", FRAMES),
        f("g711Ulaw64k", FRAMES),
        f("g711Ulaw56k", FRAMES),
        f("g722-64k", FRAMES),
        f("g722-56k", FRAMES),
        f("g722-48k", FRAMES),
        f("g7231", Ty::Seq(&G7231)),
        f("g728", FRAMES),
        f("g729", FRAMES),
        f("g729AnnexA", FRAMES),
        f("is11172AudioCapability", Ty::Seq(&IS11172_AUDIO)),
        f("is13818AudioCapability", Ty::Seq(&IS13818_AUDIO)),
    ],
    adds: &[],
};

/// DataProtocolCapability; the T.120 variant marks the separate LAN stack (an extension
/// alternative), which the kernel requires before it expects a T.120 connection.
const DATA_PROTOCOL_ROOT: [Field; 7] = [
    f("nonStandard", NON_STANDARD),
    null("v14buffered"),
    null("v42lapm"),
    null("hdlcFrameTunnelling"),
    null("h310SeparateVCStack"),
    null("h310SingleVCStack"),
    null("transparent"),
];
const DATA_PROTOCOL_ADDS_T120: [Field; 4] = [
    SKIP, // segmentationAndReassembly
    SKIP, // hdlcFrameTunnelingwSAR
    SKIP, // v120
    marked("separateLANStack", NULL, false, Mark::T120Lan),
];
const DATA_PROTOCOL: Choice = Choice {
    ext: true,
    root: &DATA_PROTOCOL_ROOT,
    adds: &[],
};
const DATA_PROTOCOL_T120: Choice = Choice {
    ext: true,
    root: &DATA_PROTOCOL_ROOT,
    adds: &DATA_PROTOCOL_ADDS_T120,
};
const DPC: Ty = Ty::Choice(&DATA_PROTOCOL);

const T84_RESTRICTED: Seq = Seq {
    ext: true,
    root: &[
        b("qcif"),
        b("cif"),
        b("ccir601Seq"),
        b("ccir601Prog"),
        b("hdtvSeq"),
        b("hdtvProg"),
        b("g3FacsMH200x100"),
        b("g3FacsMH200x200"),
        b("g4FacsMMR200x100"),
        b("g4FacsMMR200x200"),
        b("jbig200x200Seq"),
        b("jbig200x200Prog"),
        b("jbig300x300Seq"),
        b("jbig300x300Prog"),
        b("digPhotoLow"),
        b("digPhotoMedSeq"),
        b("digPhotoMedProg"),
        b("digPhotoHighSeq"),
        b("digPhotoHighProg"),
    ],
    adds: &[],
};
const T84_PROFILE: Choice = Choice {
    ext: false,
    root: &[
        null("t84Unrestricted"),
        f("t84Restricted", Ty::Seq(&T84_RESTRICTED)),
    ],
    adds: &[],
};
const T84: Seq = Seq {
    ext: false,
    root: &[
        f("t84Protocol", DPC),
        f("t84Profile", Ty::Choice(&T84_PROFILE)),
    ],
    adds: &[],
};
const NLPID: Seq = Seq {
    ext: false,
    root: &[f("nlpidProtocol", DPC), f("nlpidData", OCTETS)],
    adds: &[],
};
const APPLICATION: Choice = Choice {
    ext: true,
    root: &[
        f("nonStandard", NON_STANDARD),
        f("t120", Ty::Choice(&DATA_PROTOCOL_T120)),
        f("dsm-cc", DPC),
        f("userData", DPC),
        f("t84", Ty::Seq(&T84)),
        f("t434", DPC),
        f("h224", DPC),
        f("nlpid", Ty::Seq(&NLPID)),
        null("dsvdControl"),
        f("h222DataPartitioning", DPC),
    ],
    adds: &[],
};
const DATA_APPLICATION: Seq = Seq {
    ext: true,
    root: &[
        f("application", Ty::Choice(&APPLICATION)),
        f("maxBitRate", U32),
    ],
    adds: &[],
};
const ENCRYPTION_MODE: Choice = Choice {
    ext: true,
    root: &[f("nonStandard", NON_STANDARD), null("h233Encryption")],
    adds: &[],
};
const DATA_TYPE: Choice = Choice {
    ext: true,
    root: &[
        f("nonStandard", NON_STANDARD),
        null("nullData"),
        f("videoData", Ty::Choice(&VIDEO_CAPABILITY)),
        f("audioData", Ty::Choice(&AUDIO_CAPABILITY)),
        f("data", Ty::Seq(&DATA_APPLICATION)),
        f("encryptionData", Ty::Choice(&ENCRYPTION_MODE)),
    ],
    adds: &[],
};

// ---- Multiplex parameters ----------------------------------------------------------------

const H222: Seq = Seq {
    ext: true,
    root: &[
        f("resourceID", U16),
        f("subChannelID", Ty::Int(0, Some(8191))),
        opt("pcr-pid", Ty::Int(0, Some(8191))),
        opt("programDescriptors", OCTETS),
        opt("streamDescriptors", OCTETS),
    ],
    adds: &[],
};
const AL3: Seq = Seq {
    ext: false,
    root: &[
        f("controlFieldOctets", Ty::Int(0, Some(2))),
        f("sendBufferSize", Ty::Int(0, Some(16_777_215))),
    ],
    adds: &[],
};
const ADAPTATION_LAYER: Choice = Choice {
    ext: true,
    root: &[
        f("nonStandard", NON_STANDARD),
        null("al1Framed"),
        null("al1NotFramed"),
        null("al2WithoutSequenceNumbers"),
        null("al2WithSequenceNumbers"),
        f("al3", Ty::Seq(&AL3)),
    ],
    adds: &[],
};
const H223: Seq = Seq {
    ext: true,
    root: &[
        f("adaptationLayerType", Ty::Choice(&ADAPTATION_LAYER)),
        b("segmentableFlag"),
    ],
    adds: &[],
};
const CRC_LENGTH: Choice = Choice {
    ext: true,
    root: &[null("crc8bit"), null("crc16bit"), null("crc32bit")],
    adds: &[],
};
const V76_HDLC: Seq = Seq {
    ext: true,
    root: &[
        f("crcLength", Ty::Choice(&CRC_LENGTH)),
        f("n401", Ty::Int(1, Some(4095))),
        b("loopbackTestProcedure"),
    ],
    adds: &[],
};
const SUSPEND_RESUME: Choice = Choice {
    ext: true,
    root: &[
        null("noSuspendResume"),
        null("suspendResumewAddress"),
        null("suspendResumewoAddress"),
    ],
    adds: &[],
};
const RECOVERY: Choice = Choice {
    ext: true,
    root: &[null("rej"), null("sREJ"), null("mSREJ")],
    adds: &[],
};
const ERM: Seq = Seq {
    ext: true,
    root: &[
        f("windowSize", Ty::Int(1, Some(127))),
        f("recovery", Ty::Choice(&RECOVERY)),
    ],
    adds: &[],
};
const V76_MODE: Choice = Choice {
    ext: true,
    root: &[f("eRM", Ty::Seq(&ERM)), null("uNERM")],
    adds: &[],
};
const V75: Seq = Seq {
    ext: true,
    root: &[b("audioHeaderPresent")],
    adds: &[],
};
const V76: Seq = Seq {
    ext: true,
    root: &[
        f("hdlcParameters", Ty::Seq(&V76_HDLC)),
        f("suspendResume", Ty::Choice(&SUSPEND_RESUME)),
        b("uIH"),
        f("mode", Ty::Choice(&V76_MODE)),
        f("v75Parameters", Ty::Seq(&V75)),
    ],
    adds: &[],
};

/// H2250LogicalChannelParameters: the media addresses, then nothing more is needed.
const H2250: Seq = Seq {
    ext: true,
    root: &[
        opt("nonStandard", Ty::SeqOf(0, None, &NON_STANDARD)),
        f("sessionID", U8),
        opt("associatedSessionID", Ty::Int(1, Some(255))),
        marked("mediaChannel", TA, true, Mark::Addr(Role::Media)),
        opt("mediaGuaranteedDelivery", BOOL),
        marked("mediaControlChannel", TA, true, Mark::Addr(Role::Media)),
        opt("mediaControlGuaranteedDelivery", Ty::Stop),
        opt("silenceSuppression", Ty::Stop),
        opt("destination", Ty::Stop),
        opt("dynamicRTPPayloadType", Ty::Stop),
        opt("mediaPacketization", Ty::Stop),
    ],
    adds: &[],
};
const H2250_ACK: Seq = Seq {
    ext: true,
    root: &[
        opt("nonStandard", Ty::SeqOf(0, None, &NON_STANDARD)),
        opt("sessionID", Ty::Int(1, Some(255))),
        marked("mediaChannel", TA, true, Mark::Addr(Role::Media)),
        marked("mediaControlChannel", TA, true, Mark::Addr(Role::Media)),
        opt("dynamicRTPPayloadType", Ty::Stop),
    ],
    adds: &[],
};

const FORWARD_MULTIPLEX: Choice = Choice {
    ext: true,
    root: &[
        f("h222LogicalChannelParameters", Ty::Seq(&H222)),
        f("h223LogicalChannelParameters", Ty::Seq(&H223)),
        f("v76LogicalChannelParameters", Ty::Seq(&V76)),
    ],
    adds: &[f("h2250LogicalChannelParameters", Ty::Seq(&H2250))],
};
const FORWARD_PARAMETERS: Seq = Seq {
    ext: true,
    root: &[
        opt("portNumber", U16),
        f("dataType", Ty::Choice(&DATA_TYPE)),
        f("multiplexParameters", Ty::Choice(&FORWARD_MULTIPLEX)),
    ],
    adds: &[],
};
const REVERSE_MULTIPLEX: Choice = Choice {
    ext: true,
    root: &[
        f("h223LogicalChannelParameters", Ty::Seq(&H223)),
        f("v76LogicalChannelParameters", Ty::Seq(&V76)),
    ],
    adds: &[f("h2250LogicalChannelParameters", Ty::Seq(&H2250))],
};
const REVERSE_PARAMETERS: Seq = Seq {
    ext: true,
    root: &[
        f("dataType", Ty::Choice(&DATA_TYPE)),
        opt("multiplexParameters", Ty::Choice(&REVERSE_MULTIPLEX)),
    ],
    adds: &[],
};

const Q2931_ADDRESS_CHOICE: Choice = Choice {
    ext: true,
    root: &[
        f(
            "internationalNumber",
            Ty::Chars {
                bits: 4,
                lb: 1,
                ub: Some(16),
            },
        ),
        f("nsapAddress", Ty::Octets(1, Some(20))),
    ],
    adds: &[],
};
const Q2931_ADDRESS: Seq = Seq {
    ext: true,
    root: &[
        f("address", Ty::Choice(&Q2931_ADDRESS_CHOICE)),
        opt("subaddress", Ty::Octets(1, Some(20))),
    ],
    adds: &[],
};
const NETWORK_ADDRESS: Choice = Choice {
    ext: true,
    root: &[
        f("q2931Address", Ty::Seq(&Q2931_ADDRESS)),
        f(
            "e164Address",
            Ty::Chars {
                bits: 4,
                lb: 1,
                ub: Some(128),
            },
        ),
        marked("localAreaAddress", TA, false, Mark::Addr(Role::T120)),
    ],
    adds: &[],
};
const DISTRIBUTION: Choice = Choice {
    ext: true,
    root: &[null("unicast"), null("multicast")],
    adds: &[],
};
const NETWORK_ACCESS: Seq = Seq {
    ext: true,
    root: &[
        opt("distribution", Ty::Choice(&DISTRIBUTION)),
        f("networkAddress", Ty::Choice(&NETWORK_ADDRESS)),
        b("associateConference"),
        opt("externalReference", Ty::Octets(1, Some(255))),
    ],
    adds: &[],
};

/// OpenLogicalChannel (H.245 §7.3.1 / the ASN.1 module).
pub const OPEN_LOGICAL_CHANNEL: Seq = Seq {
    ext: true,
    root: &[
        f("forwardLogicalChannelNumber", Ty::Int(1, Some(65535))),
        f(
            "forwardLogicalChannelParameters",
            Ty::Seq(&FORWARD_PARAMETERS),
        ),
        opt(
            "reverseLogicalChannelParameters",
            Ty::Seq(&REVERSE_PARAMETERS),
        ),
    ],
    adds: &[f("separateStack", Ty::Seq(&NETWORK_ACCESS))],
};
pub const OLC: Ty = Ty::Seq(&OPEN_LOGICAL_CHANNEL);

const ACK_REVERSE_MULTIPLEX: Choice = Choice {
    ext: true,
    root: &[f("h222LogicalChannelParameters", Ty::Seq(&H222))],
    adds: &[f("h2250LogicalChannelParameters", Ty::Seq(&H2250))],
};
const ACK_REVERSE: Seq = Seq {
    ext: true,
    root: &[
        f("reverseLogicalChannelNumber", Ty::Int(1, Some(65535))),
        opt("portNumber", U16),
        opt("multiplexParameters", Ty::Choice(&ACK_REVERSE_MULTIPLEX)),
    ],
    adds: &[],
};
const FORWARD_MULTIPLEX_ACK: Choice = Choice {
    ext: true,
    root: &[f("h2250LogicalChannelAckParameters", Ty::Seq(&H2250_ACK))],
    adds: &[],
};
const OPEN_LOGICAL_CHANNEL_ACK: Seq = Seq {
    ext: true,
    root: &[
        f("forwardLogicalChannelNumber", Ty::Int(1, Some(65535))),
        opt("reverseLogicalChannelParameters", Ty::Seq(&ACK_REVERSE)),
    ],
    adds: &[
        f("separateStack", Ty::Seq(&NETWORK_ACCESS)),
        f(
            "forwardMultiplexAckParameters",
            Ty::Choice(&FORWARD_MULTIPLEX_ACK),
        ),
    ],
};

/// RequestMessage: only openLogicalChannel (index 3) is read.
const REQUEST: Choice = Choice {
    ext: true,
    root: &[
        f("nonStandard", Ty::Stop),
        f("masterSlaveDetermination", Ty::Stop),
        f("terminalCapabilitySet", Ty::Stop),
        f("openLogicalChannel", OLC),
        f("closeLogicalChannel", Ty::Stop),
        f("requestChannelClose", Ty::Stop),
        f("multiplexEntrySend", Ty::Stop),
        f("requestMultiplexEntry", Ty::Stop),
        f("requestMode", Ty::Stop),
        f("roundTripDelayRequest", Ty::Stop),
        f("maintenanceLoopRequest", Ty::Stop),
    ],
    adds: &[],
};
/// ResponseMessage: only openLogicalChannelAck (index 5) is read.
const RESPONSE: Choice = Choice {
    ext: true,
    root: &[
        f("nonStandard", Ty::Stop),
        f("masterSlaveDeterminationAck", Ty::Stop),
        f("masterSlaveDeterminationReject", Ty::Stop),
        f("terminalCapabilitySetAck", Ty::Stop),
        f("terminalCapabilitySetReject", Ty::Stop),
        f("openLogicalChannelAck", Ty::Seq(&OPEN_LOGICAL_CHANNEL_ACK)),
        f("openLogicalChannelReject", Ty::Stop),
        f("closeLogicalChannelAck", Ty::Stop),
        f("requestChannelCloseAck", Ty::Stop),
        f("requestChannelCloseReject", Ty::Stop),
        f("multiplexEntrySendAck", Ty::Stop),
        f("multiplexEntrySendReject", Ty::Stop),
        f("requestMultiplexEntryAck", Ty::Stop),
        f("requestMultiplexEntryReject", Ty::Stop),
        f("requestModeAck", Ty::Stop),
        f("requestModeReject", Ty::Stop),
        f("roundTripDelayResponse", Ty::Stop),
        f("maintenanceLoopAck", Ty::Stop),
        f("maintenanceLoopReject", Ty::Stop),
    ],
    adds: &[],
};
const MULTIMEDIA_SYSTEM_CONTROL_MESSAGE: Choice = Choice {
    ext: true,
    root: &[
        f("request", Ty::Choice(&REQUEST)),
        f("response", Ty::Choice(&RESPONSE)),
        f("command", Ty::Stop),
        f("indication", Ty::Stop),
    ],
    adds: &[],
};
/// One H.245 message (over its own TCP connection in TPKT, or tunnelled in H.225.0).
pub const MESSAGE: Ty = Ty::Choice(&MULTIMEDIA_SYSTEM_CONTROL_MESSAGE);
