//! The broker's wire protocol: frames of a 4-byte big-endian length and that many bytes of JSON,
//! at most [`MAX_FRAME`] bytes, each object carrying the protocol version `"v": 1`.
//!
//! A request is `{"v":1,"op":"token","profile":"work","min_valid":60}` (or `hello`, `status`
//! with an optional `profile`, `claims`). An answer is `{"v":1,"<op>":{…}}` or
//! `{"v":1,"error":{"kind":…,"message":…}}`. No answer holds a refresh token or an ID token:
//! only the access token, and the claims `pixie claims` prints.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::engine::{ClaimsView, FreshToken, ProfileStatus, TokenWarning};
use crate::error::{Error, ErrorKind};

/// The protocol version this Pixie speaks.
pub const VERSION: u32 = 1;
/// The largest frame either side sends or accepts, in bytes (the length prefix excluded).
pub const MAX_FRAME: usize = 64 * 1024;

/// A frame that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than [`MAX_FRAME`] bytes.
    #[error("a frame of {len} bytes is over the {MAX_FRAME}-byte limit")]
    TooLarge {
        /// The length announced.
        len: u64,
    },
    /// The peer closed the connection before a frame began.
    #[error("the connection was closed")]
    Closed,
    /// Reading or writing the socket failed, or it closed inside a frame.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The frame is not a JSON object of this protocol.
    #[error("not a request or answer of the broker protocol: {0}")]
    Json(String),
    /// The frame speaks another version of the protocol.
    #[error("protocol version {got} is not supported (this Pixie speaks {VERSION})")]
    Version {
        /// The version the frame gave.
        got: u32,
    },
}

/// A request, as sent: the version and the operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The protocol version ([`VERSION`]).
    pub v: u32,
    /// What is asked for.
    #[serde(flatten)]
    pub op: Op,
}

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Who is there: answered with [`Hello`]; used to tell a live broker from a stale socket.
    Hello,
    /// A fresh access token, as `pixie token` prints it.
    Token {
        /// The profile's name.
        profile: String,
        /// Refresh unless the token stays valid this many seconds (capped at half its life).
        min_valid: u64,
    },
    /// One profile's status, or every profile's.
    Status {
        /// The profile's name; `None` for all.
        #[serde(default)]
        profile: Option<String>,
    },
    /// The ID token's claims, as `pixie claims` prints them.
    Claims {
        /// The profile's name.
        profile: String,
    },
}

impl Op {
    /// The operation's name, for the callers' log.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Hello => "hello",
            Op::Token { .. } => "token",
            Op::Status { .. } => "status",
            Op::Claims { .. } => "claims",
        }
    }

    /// The profile asked about, if one is.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Op::Hello | Op::Status { profile: None } => None,
            Op::Token { profile, .. } | Op::Claims { profile } => Some(profile),
            Op::Status {
                profile: Some(profile),
            } => Some(profile),
        }
    }
}

/// An answer, as sent: the version and what it says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answer {
    /// The protocol version ([`VERSION`]).
    pub v: u32,
    /// What the broker answers.
    #[serde(flatten)]
    pub body: Body,
}

/// What an answer says: the result of the request's operation, or an error.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// To [`Op::Hello`].
    Hello(Hello),
    /// To [`Op::Token`].
    Token(TokenAnswer),
    /// To [`Op::Status`]: one status, or all in file order.
    Status(Vec<ProfileStatus>),
    /// To [`Op::Claims`]: `None` when the session has no ID token.
    Claims(Option<ClaimsView>),
    /// The request failed.
    Error(ErrorAnswer),
}

/// The broker introducing itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The Pixie version serving.
    pub version: String,
    /// The serving process.
    pub pid: u32,
}

/// A fresh access token: [`FreshToken`] on the wire. Holds no refresh token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenAnswer {
    /// The access token.
    pub access_token: String,
    /// The token type the provider gave (usually `Bearer`).
    pub token_type: String,
    /// When the access token expires; `None` when the provider did not say.
    pub expires_at: Option<DateTime<Utc>>,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// Whether this request refreshed the token.
    pub refreshed: bool,
    /// Something the person should know, shown beside the token.
    pub warning: Option<TokenWarning>,
}

impl From<FreshToken> for TokenAnswer {
    fn from(t: FreshToken) -> Self {
        Self {
            access_token: t.access_token.secret().clone(),
            token_type: t.token_type,
            expires_at: t.expires_at,
            scopes: t.scopes,
            refreshed: t.refreshed,
            warning: t.warning,
        }
    }
}

impl From<TokenAnswer> for FreshToken {
    fn from(t: TokenAnswer) -> Self {
        Self {
            access_token: oauth2::AccessToken::new(t.access_token),
            token_type: t.token_type,
            expires_at: t.expires_at,
            scopes: t.scopes,
            refreshed: t.refreshed,
            warning: t.warning,
        }
    }
}

// The token travels in a frame, and frames are logged nowhere; but a `Debug` of the answer must
// not print it either.
impl TokenAnswer {
    /// The answer with its token replaced, for logs.
    pub fn redacted(&self) -> Self {
        Self {
            access_token: "[redacted]".into(),
            ..self.clone()
        }
    }
}

/// A failed request: the engine's error class (the CLI's exit code) and message, and for the
/// errors a front words a remedy for, what it needs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// The class of the error.
    pub kind: ErrorKind,
    /// The message, for a person.
    pub message: String,
    /// Which error it was, when a front acts on the variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
}

/// The errors a front acts on beyond their class, with their data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Cause {
    /// [`Error::UnknownProfile`].
    UnknownProfile {
        /// The name asked for.
        profile: String,
    },
    /// [`Error::SignInRequired`].
    SignInRequired {
        /// The profile.
        profile: String,
        /// Why.
        reason: String,
    },
    /// [`Error::CorruptSession`].
    CorruptSession {
        /// The profile.
        profile: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`Error::MissingClientSecret`].
    MissingClientSecret {
        /// The profile.
        profile: String,
    },
    /// The broker refused this caller (another user, or the person said no).
    Denied,
}

impl From<&Error> for ErrorAnswer {
    fn from(e: &Error) -> Self {
        let cause = match e {
            Error::UnknownProfile(profile) => Some(Cause::UnknownProfile {
                profile: profile.clone(),
            }),
            Error::SignInRequired { profile, reason } => Some(Cause::SignInRequired {
                profile: profile.clone(),
                reason: reason.clone(),
            }),
            Error::CorruptSession { profile, reason } => Some(Cause::CorruptSession {
                profile: profile.clone(),
                reason: reason.clone(),
            }),
            Error::MissingClientSecret { profile } => Some(Cause::MissingClientSecret {
                profile: profile.clone(),
            }),
            _ => None,
        };
        Self {
            kind: e.kind(),
            message: e.to_string(),
            cause,
        }
    }
}

impl From<ErrorAnswer> for Error {
    /// The engine's error again where a front acts on the variant, else its class and words.
    fn from(a: ErrorAnswer) -> Self {
        match a.cause {
            Some(Cause::UnknownProfile { profile }) => Error::UnknownProfile(profile),
            Some(Cause::SignInRequired { profile, reason }) => {
                Error::SignInRequired { profile, reason }
            }
            Some(Cause::CorruptSession { profile, reason }) => {
                Error::CorruptSession { profile, reason }
            }
            Some(Cause::MissingClientSecret { profile }) => Error::MissingClientSecret { profile },
            Some(Cause::Denied) | None => Error::Agent {
                kind: a.kind,
                message: a.message,
            },
        }
    }
}

impl Answer {
    /// An answer of this version.
    pub fn new(body: Body) -> Self {
        Self { v: VERSION, body }
    }

    /// An error answer.
    pub fn error(e: &Error) -> Self {
        Self::new(Body::Error(e.into()))
    }

    /// A refusal: the caller may not ask.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(Body::Error(ErrorAnswer {
            kind: ErrorKind::Local,
            message: message.into(),
            cause: Some(Cause::Denied),
        }))
    }
}

/// Splits the first frame off `buf`: its payload and the bytes it took, or `None` when `buf`
/// holds only part of it. An announced length over [`MAX_FRAME`] is an error at once, before
/// any of the payload is waited for.
pub fn split_frame(buf: &[u8]) -> Result<Option<(&[u8], usize)>, FrameError> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let len = check_len(len)?;
    Ok(buf.get(4..4 + len).map(|payload| (payload, 4 + len)))
}

fn check_len(len: u32) -> Result<usize, FrameError> {
    match usize::try_from(len) {
        Ok(n) if n <= MAX_FRAME => Ok(n),
        _ => Err(FrameError::TooLarge { len: len.into() }),
    }
}

/// A frame for `payload`, refused when it is over [`MAX_FRAME`].
pub fn frame(payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&n| n as usize <= MAX_FRAME)
        .ok_or(FrameError::TooLarge {
            len: payload.len() as u64,
        })?;
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// A request's bytes parsed and its version checked.
pub fn decode_request(payload: &[u8]) -> Result<Request, FrameError> {
    check_version(payload)?;
    serde_json::from_slice(payload).map_err(|e| FrameError::Json(e.to_string()))
}

/// An answer's bytes parsed and its version checked.
pub fn decode_answer(payload: &[u8]) -> Result<Answer, FrameError> {
    check_version(payload)?;
    serde_json::from_slice(payload).map_err(|e| FrameError::Json(e.to_string()))
}

/// Reads the version first, so that a newer peer gets "unsupported version" rather than a
/// confusing parse error about fields it added.
fn check_version(payload: &[u8]) -> Result<(), FrameError> {
    #[derive(Deserialize)]
    struct Versioned {
        v: u32,
    }
    let Versioned { v } =
        serde_json::from_slice(payload).map_err(|e| FrameError::Json(e.to_string()))?;
    if v == VERSION {
        Ok(())
    } else {
        Err(FrameError::Version { got: v })
    }
}

/// Serializes and frames a request or an answer.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let json = serde_json::to_vec(message).map_err(|e| FrameError::Json(e.to_string()))?;
    frame(&json)
}

/// Reads one frame's payload; [`FrameError::Closed`] when the peer closed before it began.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Vec<u8>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        got = after_read(got, reader.read(&mut prefix[got..]).await?)?;
    }
    let mut payload = vec![0; check_len(u32::from_be_bytes(prefix))?];
    reader.read_exact(&mut payload).await?;
    Ok(payload)
}

/// [`read_frame`] for a blocking reader (the client's).
pub fn read_frame_blocking<R: std::io::Read>(reader: &mut R) -> Result<Vec<u8>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        got = after_read(got, reader.read(&mut prefix[got..])?)?;
    }
    let mut payload = vec![0; check_len(u32::from_be_bytes(prefix))?];
    reader.read_exact(&mut payload)?;
    Ok(payload)
}

/// How much of the length prefix is in after a read of `n` bytes, `got` being in before.
fn after_read(got: usize, n: usize) -> Result<usize, FrameError> {
    match n {
        0 if got == 0 => Err(FrameError::Closed),
        0 => Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
        n => Ok(got + n),
    }
}

/// Writes one message as a frame.
pub async fn write_message<W: AsyncWrite + Unpin, T: Serialize>(
    writer: &mut W,
    message: &T,
) -> Result<(), FrameError> {
    let bytes = encode(message)?;
    writer.write_all(&bytes).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_the_documented_shape() {
        let r = Request {
            v: 1,
            op: Op::Token {
                profile: "work".into(),
                min_valid: 60,
            },
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"v":1,"op":"token","profile":"work","min_valid":60}"#
        );
        let all = decode_request(br#"{"v":1,"op":"status"}"#).unwrap();
        assert_eq!(all.op, Op::Status { profile: None });
        let hello = decode_request(br#"{"v":1,"op":"hello"}"#).unwrap();
        assert_eq!(hello.op, Op::Hello);
    }

    #[test]
    fn another_version_is_named_as_such() {
        let e = decode_request(br#"{"v":2,"op":"hello","new":true}"#).unwrap_err();
        assert!(matches!(e, FrameError::Version { got: 2 }), "{e}");
        assert!(matches!(
            decode_request(br#"{"op":"hello"}"#),
            Err(FrameError::Json(_))
        ));
        assert!(matches!(
            decode_request(br#"{"v":1,"op":"launch"}"#),
            Err(FrameError::Json(_))
        ));
    }

    #[test]
    fn errors_keep_their_class_and_the_variants_fronts_act_on() {
        let e = Error::sign_in_required("work", "the refresh token was refused");
        let answer = Answer::error(&e);
        let json = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"error":{"kind":"sign_in_required","message":"sign-in required for `work`: the refresh token was refused","cause":{"code":"sign_in_required","profile":"work","reason":"the refresh token was refused"}}}"#
        );
        let Body::Error(back) = decode_answer(json.as_bytes()).unwrap().body else {
            panic!("an error answer")
        };
        let back = Error::from(back);
        assert!(matches!(back, Error::SignInRequired { .. }));
        assert_eq!(back.to_string(), e.to_string());

        let e = Error::ProviderUnreachable("connection refused".into());
        let Body::Error(back) = Answer::error(&e).body else {
            panic!()
        };
        let back = Error::from(back);
        assert_eq!(back.kind(), ErrorKind::Provider);
        assert_eq!(back.to_string(), e.to_string());
    }

    #[test]
    fn frames_are_capped_on_both_sides() {
        assert!(frame(&vec![b' '; MAX_FRAME]).is_ok());
        assert!(matches!(
            frame(&vec![b' '; MAX_FRAME + 1]),
            Err(FrameError::TooLarge { .. })
        ));
        let mut big = (MAX_FRAME as u32 + 1).to_be_bytes().to_vec();
        big.extend_from_slice(b"{}");
        assert!(matches!(
            split_frame(&big),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(split_frame(&[0, 0]).unwrap().is_none());
        assert!(split_frame(&[0, 0, 0, 3, b'{']).unwrap().is_none());
        let (payload, used) = split_frame(&[0, 0, 0, 2, b'{', b'}', 9]).unwrap().unwrap();
        assert_eq!((payload, used), (&b"{}"[..], 6));
    }

    #[tokio::test]
    async fn an_oversized_prefix_is_refused_before_reading_on() {
        let mut input: &[u8] = &[0xff, 0xff, 0xff, 0xff, b'x'];
        let e = read_frame(&mut input).await.unwrap_err();
        assert!(
            matches!(e, FrameError::TooLarge { len: 0xffff_ffff }),
            "{e}"
        );
        let mut empty: &[u8] = &[];
        assert!(matches!(
            read_frame(&mut empty).await,
            Err(FrameError::Closed)
        ));
        let mut short: &[u8] = &[0, 0, 0, 9, b'{'];
        assert!(matches!(
            read_frame(&mut short).await,
            Err(FrameError::Io(_))
        ));
    }

    #[test]
    fn a_token_answer_carries_only_the_access_token() {
        let answer = Answer::new(Body::Token(TokenAnswer {
            access_token: "at".into(),
            token_type: "Bearer".into(),
            expires_at: None,
            scopes: vec!["openid".into()],
            refreshed: false,
            warning: Some(TokenWarning::RefreshBlocked {
                reason: "spent".into(),
            }),
        }));
        let json = serde_json::to_value(&answer).unwrap();
        let fields: Vec<_> = json["token"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            fields,
            [
                "access_token",
                "expires_at",
                "refreshed",
                "scopes",
                "token_type",
                "warning"
            ]
        );
    }
}
