//! Every operation of the tables through the whole pipeline in process: none is answered
//! `InvalidAction` (each is in the model and has a handler), none panics, and a request
//! without its required parameters is refused by the model check before anything runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use portcullis_core::{IamOperation, StsOperation};

#[tokio::test]
async fn every_operation_is_reachable_and_checked() {
    let app = common::spawn_app().await;
    for op in IamOperation::ALL {
        let reply = app.iam(op.name(), &[]).await;
        assert_ne!(reply.code(), Some("InvalidAction"), "{}: {}", op.name(), reply.body);
        assert_ne!(reply.code(), Some("InternalFailure"), "{}: {}", op.name(), reply.body);
        assert!(reply.status < 500, "{}: {} {}", op.name(), reply.status, reply.body);
    }
    for op in StsOperation::ALL {
        let reply = app.sts(op.name(), &[]).await;
        assert_ne!(reply.code(), Some("InvalidAction"), "{}: {}", op.name(), reply.body);
        assert!(reply.status < 500, "{}: {} {}", op.name(), reply.status, reply.body);
    }
    // An operation IAM does not have is InvalidAction, in AWS's words.
    let reply = app.iam("ListUnicorns", &[("Arn", "arn:aws:iam::123456789012:user/someone")]).await;
    assert_eq!(reply.code(), Some("InvalidAction"), "{}", reply.body);
    assert!(reply.body.contains("Could not find operation ListUnicorns for version 2010-05-08"), "{}", reply.body);
}

#[tokio::test]
async fn a_user_round_trips_in_process() {
    let app = common::spawn_app().await;
    let created = app.iam("CreateUser", &[("UserName", "Ada"), ("Path", "/eng/")]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("<Arn>arn:aws:iam::123456789012:user/eng/Ada</Arn>"), "{}", created.body);
    let again = app.iam("CreateUser", &[("UserName", "ada")]).await;
    assert_eq!((again.status, again.code()), (409, Some("EntityAlreadyExists")), "{}", again.body);
    let listed = app.iam("ListUsers", &[("PathPrefix", "/eng/")]).await;
    assert!(listed.body.contains("<UserName>Ada</UserName>"), "{}", listed.body);
    let deleted = app.iam("DeleteUser", &[("UserName", "Ada")]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
}
