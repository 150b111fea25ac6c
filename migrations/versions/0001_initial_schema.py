"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 19:58:15.493801
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.Enum('staff', 'patient', 'system', name='actortype', native_enum=False, length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=40), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('context', sa.String(length=255), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_patient_id'), ['patient_id'], unique=False)

    op.create_table('inbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('mp', 'work', 'sms', 'inapp', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('msg_type', sa.String(length=32), nullable=False),
    sa.Column('event', sa.String(length=48), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'processing', 'done', 'failed', name='inboxstatus', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('turn_input', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('replies', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_messages')),
    sa.UniqueConstraint('channel', 'sender', 'dedupe_key', name=op.f('uq_inbox_messages_channel_sender_dedupe_key'))
    )
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_messages_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_messages_sender'), ['sender'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_messages_status'), ['status'], unique=False)

    op.create_table('institutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('short_name', sa.String(length=40), nullable=True),
    sa.Column('is_home', sa.Boolean(), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('city', sa.String(length=40), nullable=True),
    sa.Column('district', sa.String(length=40), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('opening_hours', sa.String(length=255), nullable=True),
    sa.Column('services', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions')),
    sa.UniqueConstraint('code', name=op.f('uq_institutions_code'))
    )
    op.create_table('patient_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('unionid', sa.String(length=64), nullable=True),
    sa.Column('ih_user_id', sa.String(length=64), nullable=True),
    sa.Column('nickname', sa.String(length=64), nullable=True),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active_profile_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_accounts')),
    sa.UniqueConstraint('ih_user_id', name=op.f('uq_patient_accounts_ih_user_id')),
    sa.UniqueConstraint('openid', name=op.f('uq_patient_accounts_openid'))
    )
    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('wecom_department_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_departments_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('institution_id', 'code', name=op.f('uq_departments_institution_id_code'))
    )
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_departments_institution_id'), ['institution_id'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('mp', 'work', 'sms', 'inapp', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('msg_type', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'delivered', 'failed', 'skipped', name='deliverystatus', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_msg_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox_messages.id'], name=op.f('fk_outbox_messages_inbox_id_inbox_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_messages_dedupe_key'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_inbox_id'), ['inbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_status'), ['status'], unique=False)

    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('sex', sa.Enum('M', 'F', 'U', name='sex', native_enum=False, length=24), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('id_card_enc', sa.LargeBinary(), nullable=True),
    sa.Column('id_card_index', sa.String(length=64), nullable=True),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('hospital_patient_id', sa.String(length=40), nullable=True),
    sa.Column('home_institution_id', sa.Integer(), nullable=True),
    sa.Column('reminder_channels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('quiet_start', sa.String(length=5), nullable=False),
    sa.Column('quiet_end', sa.String(length=5), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['home_institution_id'], ['institutions.id'], name=op.f('fk_patients_home_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('hospital_patient_id', name=op.f('uq_patients_hospital_patient_id')),
    sa.UniqueConstraint('id_card_index', name=op.f('uq_patients_id_card_index'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patients_phone_index'), ['phone_index'], unique=False)

    op.create_table('appointment_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('service', sa.String(length=24), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_appointment_slots_department_id_departments')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_appointment_slots_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_slots')),
    sa.UniqueConstraint('institution_id', 'service', 'starts_at', name=op.f('uq_appointment_slots_institution_id_service_starts_at'))
    )
    with op.batch_alter_table('appointment_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_slots_starts_at'), ['starts_at'], unique=False)

    op.create_table('patient_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('relation', sa.String(length=16), nullable=False),
    sa.Column('ih_profile_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['patient_accounts.id'], name=op.f('fk_patient_profiles_account_id_patient_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_profiles_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_profiles')),
    sa.UniqueConstraint('account_id', 'patient_id', name=op.f('uq_patient_profiles_account_id_patient_id'))
    )
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_profiles_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_profiles_patient_id'), ['patient_id'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('staff_no', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('role', sa.Enum('nurse', 'doctor', 'outside_clinician', 'admin', name='staffrole', native_enum=False, length=24), nullable=False),
    sa.Column('title', sa.String(length=40), nullable=True),
    sa.Column('is_vascular_expert', sa.Boolean(), nullable=False),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('phone_index', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('wecom_userid', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_staff_department_id_departments')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_staff_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('institution_id', 'staff_no', name=op.f('uq_staff_institution_id_staff_no')),
    sa.UniqueConstraint('wecom_userid', name=op.f('uq_staff_wecom_userid'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_phone_index'), ['phone_index'], unique=False)

    op.create_table('agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('service', 'privacy', name='agreementkind', native_enum=False, length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_agreements_created_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
    sa.UniqueConstraint('kind', 'version', name=op.f('uq_agreements_kind_version'))
    )
    op.create_table('catheters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('device_type', sa.String(length=16), nullable=False),
    sa.Column('state', sa.Enum('in_place', 'removed', name='catheterstate', native_enum=False, length=24), nullable=False),
    sa.Column('source', sa.Enum('here', 'brought_in', name='placementsource', native_enum=False, length=24), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('outside_institution_name', sa.String(length=120), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('inserter_id', sa.Integer(), nullable=True),
    sa.Column('inserter_name', sa.String(length=40), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('brand', sa.String(length=60), nullable=True),
    sa.Column('model', sa.String(length=60), nullable=True),
    sa.Column('lot_number', sa.String(length=40), nullable=True),
    sa.Column('french_size', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('lumens', sa.Integer(), nullable=True),
    sa.Column('vein', sa.String(length=24), nullable=True),
    sa.Column('side', sa.String(length=8), nullable=True),
    sa.Column('techniques', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('insertion_length_cm', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('external_length_cm', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('arm_circumference_cm', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('tip_position', sa.String(length=60), nullable=True),
    sa.Column('tip_confirmation', sa.String(length=16), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=True),
    sa.Column('immediate_complications', sa.Text(), nullable=True),
    sa.Column('indication', sa.String(length=120), nullable=True),
    sa.Column('planned_dwell_days', sa.Integer(), nullable=True),
    sa.Column('port_site', sa.String(length=16), nullable=True),
    sa.Column('port_pocket', sa.String(length=60), nullable=True),
    sa.Column('port_model', sa.String(length=60), nullable=True),
    sa.Column('needle_gauge', sa.String(length=8), nullable=True),
    sa.Column('needle_length_cm', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('port_in_use', sa.Boolean(), nullable=False),
    sa.Column('dressing_type', sa.String(length=16), nullable=False),
    sa.Column('tier', sa.String(length=4), nullable=False),
    sa.Column('follow_up_cycle_days', sa.Integer(), nullable=True),
    sa.Column('follow_up_notes', sa.Text(), nullable=True),
    sa.Column('responsible_staff_id', sa.Integer(), nullable=True),
    sa.Column('last_maintained_on', sa.Date(), nullable=True),
    sa.Column('next_due_on', sa.Date(), nullable=True),
    sa.Column('next_due_explicit', sa.Boolean(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('qr_token_version', sa.Integer(), nullable=False),
    sa.Column('qr_revoked', sa.Boolean(), nullable=False),
    sa.Column('dictionary_version', sa.Integer(), nullable=True),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_catheters_department_id_departments')),
    sa.ForeignKeyConstraint(['inserter_id'], ['staff.id'], name=op.f('fk_catheters_inserter_id_staff')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_catheters_institution_id_institutions')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_catheters_patient_id_patients')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['staff.id'], name=op.f('fk_catheters_registered_by_id_staff')),
    sa.ForeignKeyConstraint(['responsible_staff_id'], ['staff.id'], name=op.f('fk_catheters_responsible_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catheters'))
    )
    with op.batch_alter_table('catheters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catheters_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catheters_device_type'), ['device_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_catheters_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catheters_next_due_on'), ['next_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_catheters_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catheters_state'), ['state'], unique=False)

    op.create_table('clinical_dictionaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_clinical_dictionaries_created_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinical_dictionaries')),
    sa.UniqueConstraint('version', name=op.f('uq_clinical_dictionaries_version'))
    )
    op.create_table('education_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('summary', sa.String(length=255), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('device_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('keywords', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('cover_path', sa.String(length=255), nullable=True),
    sa.Column('status', sa.Enum('draft', 'published', 'archived', name='publishstatus', native_enum=False, length=24), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff.id'], name=op.f('fk_education_articles_author_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_education_articles'))
    )
    with op.batch_alter_table('education_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_education_articles_status'), ['status'], unique=False)

    op.create_table('export_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='exportstatus', native_enum=False, length=24), nullable=False),
    sa.Column('rq_job_id', sa.String(length=64), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=True),
    sa.Column('file_path', sa.String(length=255), nullable=True),
    sa.Column('lowcode_record_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_export_log_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_log')),
    sa.UniqueConstraint('rq_job_id', name=op.f('uq_export_log_rq_job_id'))
    )
    with op.batch_alter_table('export_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_log_staff_id'), ['staff_id'], unique=False)

    op.create_table('outside_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('institution_name', sa.String(length=120), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('department_name', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=40), nullable=True),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=False),
    sa.Column('phone_index', sa.String(length=64), nullable=False),
    sa.Column('licence_no', sa.String(length=40), nullable=False),
    sa.Column('badge_photo_path', sa.String(length=255), nullable=True),
    sa.Column('wecom_userid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='approvalstatus', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_outside_applications_institution_id_institutions')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['staff.id'], name=op.f('fk_outside_applications_reviewed_by_id_staff')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_outside_applications_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outside_applications'))
    )
    with op.batch_alter_table('outside_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outside_applications_phone_index'), ['phone_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_outside_applications_status'), ['status'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('hospital', 'self', name='reportsource', native_enum=False, length=24), nullable=False),
    sa.Column('uploaded_by_account_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('image_path', sa.String(length=255), nullable=True),
    sa.Column('image_sha256', sa.String(length=64), nullable=True),
    sa.Column('ocr_status', sa.Enum('pending', 'done', 'failed', 'not_a_report', name='ocrstatus', native_enum=False, length=24), nullable=False),
    sa.Column('ocr_text', sa.Text(), nullable=True),
    sa.Column('ocr_fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('report_type', sa.String(length=40), nullable=True),
    sa.Column('report_date', sa.Date(), nullable=True),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('institution_name', sa.String(length=120), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_reports_institution_id_institutions')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_reports_patient_id_patients')),
    sa.ForeignKeyConstraint(['uploaded_by_account_id'], ['patient_accounts.id'], name=op.f('fk_reports_uploaded_by_account_id_patient_accounts')),
    sa.ForeignKeyConstraint(['uploaded_by_staff_id'], ['staff.id'], name=op.f('fk_reports_uploaded_by_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_image_sha256'), ['image_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_patient_id'), ['patient_id'], unique=False)

    op.create_table('agreement_acceptances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['patient_accounts.id'], name=op.f('fk_agreement_acceptances_account_id_patient_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_acceptances_agreement_id_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_acceptances')),
    sa.UniqueConstraint('account_id', 'agreement_id', name=op.f('uq_agreement_acceptances_account_id_agreement_id'))
    )
    with op.batch_alter_table('agreement_acceptances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_acceptances_account_id'), ['account_id'], unique=False)

    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('catheter_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('booked', 'cancelled', 'attended', 'no_show', name='appointmentstatus', native_enum=False, length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['patient_accounts.id'], name=op.f('fk_appointments_account_id_patient_accounts')),
    sa.ForeignKeyConstraint(['catheter_id'], ['catheters.id'], name=op.f('fk_appointments_catheter_id_catheters')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_appointments_patient_id_patients')),
    sa.ForeignKeyConstraint(['slot_id'], ['appointment_slots.id'], name=op.f('fk_appointments_slot_id_appointment_slots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
    sa.UniqueConstraint('slot_id', 'patient_id', name=op.f('uq_appointments_slot_id_patient_id'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointments_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_slot_id'), ['slot_id'], unique=False)

    op.create_table('complications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catheter_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('onset_on', sa.Date(), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('basic_info', sa.Text(), nullable=True),
    sa.Column('brief_history', sa.Text(), nullable=True),
    sa.Column('treatment', sa.Text(), nullable=True),
    sa.Column('nursing_exam', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('open', 'handling', 'resolved', name='complicationstatus', native_enum=False, length=24), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('led_to_removal', sa.Boolean(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['catheter_id'], ['catheters.id'], name=op.f('fk_complications_catheter_id_catheters')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_complications_institution_id_institutions')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_complications_patient_id_patients')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['staff.id'], name=op.f('fk_complications_reported_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complications'))
    )
    with op.batch_alter_table('complications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complications_catheter_id'), ['catheter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complications_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complications_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_complications_type'), ['type'], unique=False)

    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catheter_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('before', 'due', 'overdue', 'escalation', name='reminderkind', native_enum=False, length=24), nullable=False),
    sa.Column('channel', sa.Enum('mp', 'work', 'sms', 'inapp', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'delivered', 'failed', 'skipped', name='deliverystatus', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_msg_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['catheter_id'], ['catheters.id'], name=op.f('fk_reminders_catheter_id_catheters')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_reminders_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('catheter_id', 'due_on', 'channel', 'kind', name=op.f('uq_reminders_catheter_id_due_on_channel_kind'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminders_catheter_id'), ['catheter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_status'), ['status'], unique=False)

    op.create_table('removals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catheter_id', sa.Integer(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('catheter_intact', sa.Boolean(), nullable=True),
    sa.Column('tip_culture_sent', sa.Boolean(), nullable=False),
    sa.Column('tip_culture_result', sa.String(length=120), nullable=True),
    sa.Column('dwell_days', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['catheter_id'], ['catheters.id'], name=op.f('fk_removals_catheter_id_catheters')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_removals_institution_id_institutions')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_removals_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_removals')),
    sa.UniqueConstraint('catheter_id', name=op.f('uq_removals_catheter_id'))
    )
    op.create_table('report_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=True),
    sa.Column('unit', sa.String(length=24), nullable=True),
    sa.Column('reference_range', sa.String(length=40), nullable=True),
    sa.Column('flag', sa.String(length=4), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_items_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_items'))
    )
    with op.batch_alter_table('report_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_items_report_id'), ['report_id'], unique=False)

    op.create_table('complication_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complication_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('caption', sa.String(length=255), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complication_id'], ['complications.id'], name=op.f('fk_complication_photos_complication_id_complications')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['staff.id'], name=op.f('fk_complication_photos_uploaded_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complication_photos')),
    sa.UniqueConstraint('complication_id', 'sha256', name=op.f('uq_complication_photos_complication_id_sha256'))
    )
    with op.batch_alter_table('complication_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complication_photos_complication_id'), ['complication_id'], unique=False)

    op.create_table('complication_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complication_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['complication_id'], ['complications.id'], name=op.f('fk_complication_steps_complication_id_complications')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_complication_steps_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complication_steps'))
    )
    with op.batch_alter_table('complication_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complication_steps_complication_id'), ['complication_id'], unique=False)

    op.create_table('consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('catheter_id', sa.Integer(), nullable=True),
    sa.Column('complication_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('open', 'closed', name='consultationstatus', native_enum=False, length=24), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=True),
    sa.Column('conclusion', sa.Text(), nullable=True),
    sa.Column('concluded_by_id', sa.Integer(), nullable=True),
    sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['catheter_id'], ['catheters.id'], name=op.f('fk_consultations_catheter_id_catheters')),
    sa.ForeignKeyConstraint(['complication_id'], ['complications.id'], name=op.f('fk_consultations_complication_id_complications')),
    sa.ForeignKeyConstraint(['concluded_by_id'], ['staff.id'], name=op.f('fk_consultations_concluded_by_id_staff')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_consultations_patient_id_patients')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['staff.id'], name=op.f('fk_consultations_requested_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations')),
    sa.UniqueConstraint('chat_id', name=op.f('uq_consultations_chat_id'))
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultations_complication_id'), ['complication_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_patient_id'), ['patient_id'], unique=False)

    op.create_table('inapp_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('reminder_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_inapp_messages_patient_id_patients')),
    sa.ForeignKeyConstraint(['reminder_id'], ['reminders.id'], name=op.f('fk_inapp_messages_reminder_id_reminders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inapp_messages')),
    sa.UniqueConstraint('reminder_id', name=op.f('uq_inapp_messages_reminder_id'))
    )
    with op.batch_alter_table('inapp_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inapp_messages_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inapp_messages_patient_id'), ['patient_id'], unique=False)

    op.create_table('maintenance_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catheter_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('performed_by_name', sa.String(length=40), nullable=True),
    sa.Column('site_findings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('external_length_cm', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('arm_circumference_cm', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('flushed', sa.Boolean(), nullable=False),
    sa.Column('flush_solution', sa.String(length=40), nullable=True),
    sa.Column('flush_volume_ml', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('lock_solution', sa.String(length=40), nullable=True),
    sa.Column('lock_volume_ml', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('dressing_changed', sa.Boolean(), nullable=False),
    sa.Column('dressing_type', sa.String(length=16), nullable=True),
    sa.Column('connector_changed', sa.Boolean(), nullable=False),
    sa.Column('needle_changed', sa.Boolean(), nullable=False),
    sa.Column('blood_return', sa.Boolean(), nullable=True),
    sa.Column('patency', sa.String(length=16), nullable=True),
    sa.Column('catheter_intact', sa.Boolean(), nullable=True),
    sa.Column('complication_id', sa.Integer(), nullable=True),
    sa.Column('red_flags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('next_due_on', sa.Date(), nullable=True),
    sa.Column('next_due_explicit', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['catheter_id'], ['catheters.id'], name=op.f('fk_maintenance_records_catheter_id_catheters')),
    sa.ForeignKeyConstraint(['complication_id'], ['complications.id'], name=op.f('fk_maintenance_records_complication_id_complications')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_maintenance_records_institution_id_institutions')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_maintenance_records_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_records')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_maintenance_records_idempotency_key'))
    )
    with op.batch_alter_table('maintenance_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_records_catheter_id'), ['catheter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_records_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_records_performed_at'), ['performed_at'], unique=False)

    op.create_table('consultation_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_members_consultation_id_consultations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_consultation_members_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_members')),
    sa.UniqueConstraint('consultation_id', 'staff_id', name=op.f('uq_consultation_members_consultation_id_staff_id'))
    )
    with op.batch_alter_table('consultation_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_members_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_members_staff_id'), ['staff_id'], unique=False)
    # patient_accounts <-> patient_profiles reference each other: add this one last
    with op.batch_alter_table('patient_accounts', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_patient_accounts_active_profile_id_patient_profiles'),
            'patient_profiles', ['active_profile_id'], ['id'], ondelete='SET NULL')
    _create_audit_guards()


def _create_audit_guards() -> None:
    """The audit log is append-only at the database level too (X.1)."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'audit_log is append-only';
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""")
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"""
                CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""")


def _drop_audit_guards() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def downgrade() -> None:
    _drop_audit_guards()
    with op.batch_alter_table('patient_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_patient_accounts_active_profile_id_patient_profiles'), type_='foreignkey')
    with op.batch_alter_table('consultation_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_members_staff_id'))
        batch_op.drop_index(batch_op.f('ix_consultation_members_consultation_id'))

    op.drop_table('consultation_members')
    with op.batch_alter_table('maintenance_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_records_performed_at'))
        batch_op.drop_index(batch_op.f('ix_maintenance_records_institution_id'))
        batch_op.drop_index(batch_op.f('ix_maintenance_records_catheter_id'))

    op.drop_table('maintenance_records')
    with op.batch_alter_table('inapp_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inapp_messages_patient_id'))
        batch_op.drop_index(batch_op.f('ix_inapp_messages_created_at'))

    op.drop_table('inapp_messages')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultations_patient_id'))
        batch_op.drop_index(batch_op.f('ix_consultations_complication_id'))

    op.drop_table('consultations')
    with op.batch_alter_table('complication_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complication_steps_complication_id'))

    op.drop_table('complication_steps')
    with op.batch_alter_table('complication_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complication_photos_complication_id'))

    op.drop_table('complication_photos')
    with op.batch_alter_table('report_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_items_report_id'))

    op.drop_table('report_items')
    op.drop_table('removals')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminders_status'))
        batch_op.drop_index(batch_op.f('ix_reminders_patient_id'))
        batch_op.drop_index(batch_op.f('ix_reminders_catheter_id'))

    op.drop_table('reminders')
    with op.batch_alter_table('complications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complications_type'))
        batch_op.drop_index(batch_op.f('ix_complications_status'))
        batch_op.drop_index(batch_op.f('ix_complications_patient_id'))
        batch_op.drop_index(batch_op.f('ix_complications_catheter_id'))

    op.drop_table('complications')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointments_slot_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_patient_id'))

    op.drop_table('appointments')
    with op.batch_alter_table('agreement_acceptances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_acceptances_account_id'))

    op.drop_table('agreement_acceptances')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_patient_id'))
        batch_op.drop_index(batch_op.f('ix_reports_image_sha256'))

    op.drop_table('reports')
    with op.batch_alter_table('outside_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outside_applications_status'))
        batch_op.drop_index(batch_op.f('ix_outside_applications_phone_index'))

    op.drop_table('outside_applications')
    with op.batch_alter_table('export_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_log_staff_id'))

    op.drop_table('export_log')
    with op.batch_alter_table('education_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_education_articles_status'))

    op.drop_table('education_articles')
    op.drop_table('clinical_dictionaries')
    with op.batch_alter_table('catheters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catheters_state'))
        batch_op.drop_index(batch_op.f('ix_catheters_patient_id'))
        batch_op.drop_index(batch_op.f('ix_catheters_next_due_on'))
        batch_op.drop_index(batch_op.f('ix_catheters_institution_id'))
        batch_op.drop_index(batch_op.f('ix_catheters_device_type'))
        batch_op.drop_index(batch_op.f('ix_catheters_department_id'))

    op.drop_table('catheters')
    op.drop_table('agreements')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_phone_index'))
        batch_op.drop_index(batch_op.f('ix_staff_institution_id'))

    op.drop_table('staff')
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_profiles_patient_id'))
        batch_op.drop_index(batch_op.f('ix_patient_profiles_account_id'))

    op.drop_table('patient_profiles')
    with op.batch_alter_table('appointment_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_slots_starts_at'))

    op.drop_table('appointment_slots')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_phone_index'))

    op.drop_table('patients')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_inbox_id'))

    op.drop_table('outbox_messages')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_departments_institution_id'))

    op.drop_table('departments')
    op.drop_table('patient_accounts')
    op.drop_table('institutions')
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_messages_status'))
        batch_op.drop_index(batch_op.f('ix_inbox_messages_sender'))
        batch_op.drop_index(batch_op.f('ix_inbox_messages_received_at'))

    op.drop_table('inbox_messages')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_patient_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
