use crate::helpers::TestApp;

/// The id of a seeded, renamable group.
async fn some_group(app: &TestApp) -> (u32, String) {
    let page = app.get("/groups").await;
    let name = page.text("#group-100 td.name");
    assert!(!name.is_empty(), "the simulator seeds group 100");
    (100, name)
}

#[tokio::test]
async fn renaming_in_place_swaps_the_row_for_a_form_and_back() {
    let app = TestApp::spawn().await;
    let (id, old) = some_group(&app).await;

    let form = app.get_hx(&format!("/groups/{id}/edit")).await;
    assert_eq!(form.status, 200);
    assert!(form.has(&format!(
        "tr#group-{id}.editing input[name=name][value='{old}']"
    )));

    let cancel = app.get_hx(&format!("/groups/{id}/row")).await;
    assert_eq!(cancel.text(&format!("tr#group-{id} td.name")), old);

    let done = app
        .post_hx(&format!("/groups/{id}/rename"), &[("name", "华南渠道")])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        done.text(&format!("tr#group-{id}.highlight td.name")),
        "华南渠道"
    );
    assert!(done.text("#messages").contains("华南渠道"));
    assert_eq!(app.calls("groups/update"), 1);
    let page = app.get("/groups").await;
    assert_eq!(page.text(&format!("#group-{id} td.name")), "华南渠道");
}

#[tokio::test]
async fn renaming_without_javascript_uses_the_page_and_a_redirect() {
    let app = TestApp::spawn().await;
    let (id, _) = some_group(&app).await;
    let edit = app.get(&format!("/groups/{id}/edit")).await;
    assert_eq!(edit.status, 303);
    let page = app.get(edit.location()).await;
    assert!(page.has(&format!("tr#group-{id}.editing")));
    let done = app
        .post(&format!("/groups/{id}/rename"), &[("name", "Renamed")])
        .await;
    assert_eq!(done.status, 303);
    let page = app.get(done.location()).await;
    assert_eq!(page.text(&format!("#group-{id} td.name")), "Renamed");
    assert!(page.text("#messages").contains("Renamed"));
}

#[tokio::test]
async fn system_groups_cannot_be_renamed_even_by_a_crafted_request() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    for id in [0, 1, 2] {
        let page = app
            .post_hx(&format!("/groups/{id}/rename"), &[("name", "hacked")])
            .await;
        assert_eq!(page.status, 422);
        assert!(
            page.text(".field-error").contains("系统分组"),
            "{}",
            page.body
        );
        let page = app.get("/groups").await;
        assert!(
            page.has(&format!("#group-{id}"))
                && !page.has(&format!("#group-{id} a[hx-get$='/edit']")),
            "no rename button on {id}"
        );
    }
    assert_eq!(app.calls("groups/update"), 0);
}

#[tokio::test]
async fn bad_group_ids_in_the_url_are_not_found() {
    let app = TestApp::spawn().await;
    app.get("/groups").await;
    for id in ["-1", "abc", "99999999999999999999", "4242"] {
        let page = app
            .post(&format!("/groups/{id}/rename"), &[("name", "x")])
            .await;
        assert_eq!(page.status, 404, "{id}");
        assert!(
            page.text("h1").contains("找不到"),
            "a real page: {}",
            page.body
        );
    }
    assert_eq!(app.calls("groups/update"), 0);
}

#[tokio::test]
async fn a_bad_new_name_is_shown_next_to_the_field_and_what_was_typed_is_kept() {
    let app = TestApp::spawn().await;
    let (id, _) = some_group(&app).await;
    let long = "x".repeat(31);
    let page = app
        .post_hx(&format!("/groups/{id}/rename"), &[("name", &long)])
        .await;
    assert_eq!(page.status, 422);
    assert!(page.text(&format!("#rename-{id}-error")).contains("31"));
    assert!(page.has(&format!("input[value='{long}']")));
    assert_eq!(app.calls("groups/update"), 0);
}

#[tokio::test]
async fn renaming_to_the_same_name_spends_no_call() {
    let app = TestApp::spawn().await;
    let (id, old) = some_group(&app).await;
    let page = app
        .post_hx(&format!("/groups/{id}/rename"), &[("name", &old)])
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(app.calls("groups/update"), 0);
}
