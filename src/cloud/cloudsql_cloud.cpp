// Provider `cloudsql`: Google Cloud SQL for PostgreSQL through the Admin API (gcp/). Method
// `logical`: a new instance at the target version, made before the copy (step `destination`),
// then filled and kept in sync by the engine exactly as a server of provider `postgres` is.
// Method `clone`: the snapshot source of cloudsql_clone.cpp.

#include "cloud/cloud.h"

#include <fmt/format.h>

#include "cloud/cloudsql_plan.h"
#include "cloud/cloudsql_session.h"
#include "model/servers.h"
#include "model/timings.h"
#include "pg/connection.h"
#include "pg/quote.h"
#include "util/fault.h"
#include "util/log.h"

namespace dbr {

// cloudsql_clone.cpp
std::unique_ptr<SnapshotSource> MakeCloudSqlCloneSource(SharedCloudSqlPlan plan);

namespace {

constexpr const char* kRootUser = "postgres";  // the user Cloud SQL makes with every instance

class CloudSqlCloud : public Cloud {
 public:
  const char* name() const override { return "Google Cloud SQL"; }

  std::vector<CheckResult> Check(const Config& config, const Progress& progress) override {
    auto session = OpenGoogleSession(config);
    if (!session.ok()) {
      CheckResult c;
      c.name = "Google credentials";
      c.level = CheckLevel::kFail;
      c.detail = session.message();
      return {c};
    }
    auto planned = PlanCloudSqlRelocation(config, (*session)->admin, progress.recorded_destination);
    *plan_ = std::move(planned.plan);
    return std::move(planned.findings);
  }

  bool CanEnableLogicalReplication(const Config& config,
                                   const PreflightReport& report) const override {
    const CheckResult* flag = report.Find(kCloudSqlLogicalDecodingCheck);
    return flag != nullptr && flag->level == CheckLevel::kWarn &&
           config.upgrade.allow_source_restart;
  }

  // instances.patch of the source's flags, which Cloud SQL applies by restarting it.
  Status EnableLogicalReplication(const Config& config) override {
    DBR_ASSIGN_OR_RETURN(auto session, OpenGoogleSession(config));
    gcp::SqlAdmin& admin = session->admin;
    const std::string& project = config.gcp.project;
    DBR_ASSIGN_OR_RETURN(auto source, admin.GetInstance(project, config.src.instance_id));
    if (!source) return Status::Error("the source instance " + config.src.instance_id + " is gone");
    log::warn(
        "setting {} = on for {} (upgrade.allow_source_restart): Cloud SQL restarts it, and "
        "its connections drop until it is back",
        kCloudSqlLogicalDecodingFlag, source->name);
    DBR_ASSIGN_OR_RETURN(
        auto patching, admin.PatchInstance(
                           project, source->name,
                           {{"settings", {{"databaseFlags", FlagsWithLogicalDecoding(*source)}}}}));
    return WaitForOperation(config, admin, patching.name);
  }

  Status MakeDestination(RunContext& ctx) override {
    CloudSqlState& st = ctx.state.cloudsql;
    if (ctx.config.upgrade.method != UpgradeMethod::kLogical) return Status::Ok();  // clone: later
    if (st.phase == CloudSqlPhase::kDone) {
      UseRecordedDestination(ctx.config, ctx.state);
      return Status::Ok();
    }
    if (!*plan_) return Status::Error("internal: no Cloud SQL plan (pre-flight did not pass)");
    DBR_ASSIGN_OR_RETURN(auto session, OpenGoogleSession(ctx.config));
    gcp::SqlAdmin& admin = session->admin;
    const std::string& project = ctx.config.gcp.project;
    if (st.instance.empty()) {
      st.phase = CloudSqlPhase::kCreate;
      st.method = NameOf(ctx.config.upgrade.method);
      st.target_major = (*plan_)->target_major;
      st.instance = (*plan_)->destination;
      DBR_RETURN_IF_ERROR(ctx.SaveState());
      CrashPoint("cloudsql:instance-named");
    }
    DBR_ASSIGN_OR_RETURN(auto existing, admin.GetInstance(project, st.instance));
    if (!existing) {
      nlohmann::json body = (*plan_)->insert;
      if (ctx.config.dst.user == kRootUser) body["rootPassword"] = ctx.config.dst.password;
      log::info("creating the Cloud SQL instance {} ({}) in project {}", st.instance,
                body["databaseVersion"].get<std::string>(), project);
      DBR_RETURN_IF_ERROR(RecordAndWait(ctx, admin, admin.InsertInstance(project, body)));
    } else {
      DBR_RETURN_IF_ERROR(WaitForRecorded(ctx, admin));
    }
    DBR_ASSIGN_OR_RETURN(auto made, admin.GetInstance(project, st.instance));
    if (!made || made->state != "RUNNABLE" || made->primary_ip.empty())
      return Status::Error(fmt::format("the Cloud SQL instance {} is {} after its creation",
                                       st.instance, made ? made->state : "gone"));
    if (ctx.config.dst.user != kRootUser) DBR_RETURN_IF_ERROR(MakeUser(ctx, admin));
    st.dst_host = made->primary_ip;
    UseRecordedDestination(ctx.config, ctx.state);
    DBR_RETURN_IF_ERROR(PrepareDatabase(ctx.config));
    st.phase = CloudSqlPhase::kDone;
    log::info("the Cloud SQL instance {} is ready at {}", st.instance, st.dst_host);
    return ctx.SaveState();
  }

  std::unique_ptr<SnapshotSource> MakeSnapshotSource(const Config& config) override {
    if (config.upgrade.method == UpgradeMethod::kClone) return MakeCloudSqlCloneSource(plan_);
    return MakeLogicalCopySource();
  }

  Status DeleteIntermediates(const Config& config, const RunState& state,
                             const CleanupRequest& request,
                             std::vector<std::string>* actions) override {
    const std::string& made = state.cloudsql.instance;
    if (made.empty()) return Status::Ok();
    if (request.delete_instance != made) {
      log::info(
          "the Cloud SQL instance {} (made by this relocation) stays; `cleanup "
          "--delete-instance {}` deletes it",
          made, made);
      return Status::Ok();
    }
    actions->push_back("delete the Cloud SQL instance " + made);
    if (request.dry_run) return Status::Ok();
    DBR_ASSIGN_OR_RETURN(auto session, OpenGoogleSession(config));
    DBR_ASSIGN_OR_RETURN(auto deleting, session->admin.DeleteInstance(config.gcp.project, made));
    if (!deleting) return Status::Ok();  // gone already
    DBR_RETURN_IF_ERROR(WaitForOperation(config, session->admin, deleting->name));
    log::info("deleted the Cloud SQL instance {}", made);
    return Status::Ok();
  }

 private:
  // dst.user, by users.insert; one a killed run made already fails to be inserted again and
  // gets its password by users.update.
  static Status MakeUser(RunContext& ctx, gcp::SqlAdmin& admin) {
    const std::string& project = ctx.config.gcp.project;
    const std::string& instance = ctx.state.cloudsql.instance;
    const ServerConfig& dst = ctx.config.dst;
    log::info("creating the user {} on {}", dst.user, instance);
    Status inserted =
        RecordAndWait(ctx, admin, admin.InsertUser(project, instance, dst.user, dst.password));
    if (inserted.ok()) return Status::Ok();
    ctx.state.cloudsql.operation.clear();
    log::info("users.insert of {} failed ({}): setting its password instead", dst.user,
              inserted.message());
    return RecordAndWait(ctx, admin, admin.UpdateUser(project, instance, dst.user, dst.password));
  }

  // The source database's encoding and locale as CREATE DATABASE options, where the new
  // instance's template1 has another encoding (the copy carries text as the source's bytes,
  // and pre-flight refuses a destination of another encoding); nothing where they agree.
  static Result<std::string> SourceEncodingOptions(const Config& config, pg::Connection& dst) {
    const char* kSql =
        "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
        "WHERE datname = $1";
    DBR_ASSIGN_OR_RETURN(auto src, pg::Connection::Open(SourceParams(config)));
    DBR_ASSIGN_OR_RETURN(auto ours, src.Query(kSql, {config.src.name}));
    DBR_ASSIGN_OR_RETURN(auto template1, dst.Query(kSql, {std::string("template1")}));
    if (ours.rows() != 1 || template1.rows() != 1)
      return Status::Error("cannot read the encoding of database " + config.src.name);
    if (ours.Get(0, 0) == template1.Get(0, 0)) return std::string();
    return fmt::format(" TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}",
                       pg::QuoteLiteral(ours.Get(0, 0)), pg::QuoteLiteral(ours.Get(0, 1)),
                       pg::QuoteLiteral(ours.Get(0, 2)));
  }

  // The new instance's database (dst.name) and its user's REPLICATION, which the return
  // replication of a cut-over needs: Cloud SQL lets a cloudsqlsuperuser give it ("ALTER USER
  // ... WITH REPLICATION", Google's "Set up logical replication and decoding").
  static Status PrepareDatabase(const Config& config) {
    pg::ConnParams params = DestinationParams(config);
    params.dbname = "postgres";
    DBR_ASSIGN_OR_RETURN(auto conn, pg::Connection::Open(params));
    DBR_ASSIGN_OR_RETURN(
        auto exists,
        conn.QueryValue("SELECT count(*) FROM pg_database WHERE datname = $1", {config.dst.name}));
    if (exists == "0") {
      DBR_ASSIGN_OR_RETURN(std::string options, SourceEncodingOptions(config, conn));
      DBR_RETURN_IF_ERROR(
          conn.Exec("CREATE DATABASE " + pg::QuoteIdent(config.dst.name) + options));
      log::info("created database {} on the new instance{}", config.dst.name, options);
    }
    DBR_ASSIGN_OR_RETURN(auto replication,
                         conn.QueryValue("SELECT rolreplication FROM pg_roles WHERE rolname = "
                                         "current_user"));
    if (replication != "t") {
      Status given = conn.Exec("ALTER ROLE CURRENT_USER WITH REPLICATION");
      if (!given.ok())
        log::warn(
            "could not give {} REPLICATION on the new instance ({}): pre-flight says what "
            "the cut-over's return replication needs",
            config.dst.user, given.message());
    }
    return Status::Ok();
  }

  SharedCloudSqlPlan plan_ = std::make_shared<std::optional<CloudSqlPlan>>();
};

}  // namespace

std::unique_ptr<Cloud> MakeCloudSqlCloud() {
  return std::make_unique<CloudSqlCloud>();
}

}  // namespace dbr
