//! Evaluation speed check (the lead's criterion bench is the real measure):
//! a principal with 10 policies / 50 statements. Run with
//! `cargo test --release -p portcullis-policy --test perf -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use portcullis_policy::*;

fn policies() -> Vec<Policy> {
    (0..10)
        .map(|i| {
            let doc = format!(
                r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::bucket-{i}","arn:aws:s3:::bucket-{i}/*"]}},
                {{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*","Condition":{{"StringEquals":{{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}}}},
                {{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::bucket-{i}"}},
                {{"Effect":"Allow","Action":["iam:ChangePassword","iam:GetUser"],"Resource":"arn:aws:iam::*:user/${{aws:username}}"}},
                {{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*","Condition":{{"BoolIfExists":{{"aws:MultiFactorAuthPresent":"false"}},"IpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}}
                ]}}"#
            );
            parse(&doc, PolicyKind::Identity).unwrap()
        })
        .collect()
}

#[test]
#[ignore]
fn ten_policies_fifty_statements() {
    let ps = policies();
    let names: Vec<String> = (0..10).map(|i| format!("arn:aws:iam::111122223333:policy/p{i}")).collect();
    let set = PolicySet {
        identity: names.iter().zip(&ps).map(|(n, p)| (n.as_str(), p)).collect(),
        ..Default::default()
    };
    let mut reqs = Vec::new();
    for (action, resource) in [
        ("s3:GetObject", "arn:aws:s3:::bucket-7/key"),
        ("ec2:DescribeInstances", "*"),
        ("s3:PutObject", "arn:aws:s3:::bucket-3/key"),
        ("iam:GetUser", "arn:aws:iam::111122223333:user/alice"),
    ] {
        let mut r = RequestContext::new(action, resource, RequestPrincipal::user("111122223333", "arn:aws:iam::111122223333:user/alice"));
        r.set_principal_keys(Some("alice"), "AIDAALICE", &[("team", "blue")]);
        r.set_one("aws:RequestedRegion", "us-east-1");
        r.set_one("aws:SourceIp", "192.0.2.1");
        r.set_one("aws:MultiFactorAuthPresent", "true");
        r.set_time(1_700_000_000);
        reqs.push(r);
    }
    for r in &reqs {
        let mut samples = Vec::new();
        for _ in 0..200 {
            let start = Instant::now();
            for _ in 0..100 {
                std::hint::black_box(evaluate(&set, std::hint::black_box(r)));
            }
            samples.push(start.elapsed().as_nanos() / 100);
        }
        samples.sort_unstable();
        let d = evaluate(&set, r);
        println!("{} {}: min {} ns, p50 {} ns, p90 {} ns ({})", r.action, r.resource, samples[0], samples[100], samples[180], d.effect.as_str());
    }
}
